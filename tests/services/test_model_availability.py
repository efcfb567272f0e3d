"""Whether the chosen model can be loaded here, and what a registered model fits, read from real files."""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from studio.config.problem_types import CAUSAL_LM, CLASSIFICATION_LM, IMAGE_CLASSIFICATION, MULTIMODAL, OBJECT_DETECTION
from studio.config.problem_types import problem_types_of_checkpoint
from studio.services import model_availability as availability
from studio.services.model_registry import RegistryError, choices_for, load_registry


@pytest.fixture(autouse=True)
def isolated_hub(tmp_path, monkeypatch):
    """An empty HF cache and an endpoint nobody listens on, whatever the machine's settings."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    availability.forget_reachability()
    yield
    availability.forget_reachability()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cache_model(cache, repo_id: str, config: dict) -> None:
    """The Hugging Face cache layout as huggingface_hub writes it: refs/main -> snapshots/<commit>/."""
    folder = cache / ("models--" + repo_id.replace("/", "--"))
    commit = "0" * 40
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    (folder / "snapshots" / commit).mkdir(parents=True)
    (folder / "snapshots" / commit / "config.json").write_text(json.dumps(config))


def test_a_local_folder_needs_its_config_json(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    empty = availability.check_model(str(folder))
    assert not empty.loadable and "has no config.json" in empty.message
    (folder / "config.json").write_text("{}")
    assert availability.check_model(str(folder)).source == "local"
    gone = availability.check_model(str(tmp_path / "nowhere"))
    assert not gone.loadable and "there is no folder" in gone.message


def test_a_hub_model_offline_is_not_loadable_unless_it_is_in_the_cache(tmp_path):
    offline = availability.check_model("org/some-model")
    assert not offline.loadable and "cannot be reached" in offline.message
    assert availability.backbone_error("org/some-model").startswith("llm_backbone: cannot be loaded")
    _cache_model(tmp_path / "hf-cache", "org/some-model", {"architectures": ["LlamaForCausalLM"]})
    cached = availability.check_model("org/some-model")
    assert cached.loadable and cached.source == "cache"
    assert availability.backbone_error("org/some-model") is None


def test_hf_hub_offline_is_honoured_without_touching_the_network(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    found = availability.check_model("org/other-model")
    assert not found.loadable and "HF_HUB_OFFLINE" in found.message


def test_a_reachable_hub_lets_the_run_download_it(monkeypatch):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        found = availability.check_model("org/some-model")
        assert found.loadable and found.source == "hub"
    finally:
        server.close()


def test_the_reachability_check_is_bounded_and_remembered(monkeypatch):
    # Name resolution ignores socket timeouts: a connect that hangs far longer than the bound
    # (as a stuck resolver does) must still give an answer within it.
    started = threading.Event()

    def hanging_connect(*args, **kwargs):
        started.set()
        time.sleep(3)
        raise OSError("resolver gave up")

    monkeypatch.setattr(socket, "create_connection", hanging_connect)
    begin = time.monotonic()
    assert availability.hub_reachable(timeout_s=0.3) is False
    assert time.monotonic() - begin < 1.5 and started.is_set()
    begin = time.monotonic()
    assert availability.hub_reachable(timeout_s=0.3) is False  # remembered: no second wait
    assert time.monotonic() - begin < 0.1


def test_first_loadable_skips_what_this_machine_cannot_load(tmp_path):
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "config.json").write_text("{}")
    assert availability.first_loadable(["org/a", str(tmp_path / "local")]) == str(tmp_path / "local")
    assert availability.first_loadable(["org/a"]) is None


@pytest.mark.parametrize("config, fits", [
    ({"architectures": ["LlamaForCausalLM"]}, (CAUSAL_LM, CLASSIFICATION_LM)),
    ({"architectures": ["ViTForImageClassification"]}, (IMAGE_CLASSIFICATION,)),
    ({"architectures": ["DetrForObjectDetection"]}, (OBJECT_DETECTION,)),
    ({"architectures": ["LlavaForConditionalGeneration"], "vision_config": {}}, (MULTIMODAL,)),
    ({"architectures": ["T5ForConditionalGeneration"]}, None),
    ({}, None),
])
def test_a_checkpoint_says_what_it_fits_through_its_architectures(config, fits):
    assert problem_types_of_checkpoint(config) == fits


def test_a_model_registered_without_problem_types_fits_what_its_config_says(tmp_path, tiny_llama_dir, tiny_vit_dir):
    home = tmp_path / "home"
    home.mkdir()
    (home / "models.yaml").write_text(f"models:\n  - {{id: '{tiny_llama_dir}', family: Local}}\n"
                                      f"  - {{id: '{tiny_vit_dir}'}}\n  - {{id: org/unknown-model}}\n")
    models = load_registry(home)
    assert str(tiny_llama_dir) in choices_for(models, CAUSAL_LM)
    assert str(tiny_llama_dir) not in choices_for(models, IMAGE_CLASSIFICATION)
    assert str(tiny_vit_dir) in choices_for(models, IMAGE_CLASSIFICATION)
    assert str(tiny_vit_dir) not in choices_for(models, CAUSAL_LM)
    # A model whose config is nowhere on this machine says nothing: it stays offered for every type.
    assert "org/unknown-model" in choices_for(models, OBJECT_DETECTION)


def test_a_registry_entry_with_an_unknown_problem_type_is_an_error_naming_it(tmp_path):
    (tmp_path / "models.yaml").write_text("models:\n  - {id: org/m, problem_types: [text_generation]}\n")
    with pytest.raises(RegistryError, match=r"models\[0\] \(org/m\): unknown problem type 'text_generation'"):
        load_registry(tmp_path)
