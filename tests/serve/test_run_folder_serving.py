"""``--model`` takes a run folder or its checkpoint folder, and the run's prediction.* settings are the defaults."""
from __future__ import annotations

import json
import shutil

import httpx
import pytest
import yaml

from studio.serve.generation_defaults import from_run_folder
from studio.serve.model_loading import ModelLoadError, find_model_folder, run_folder_of
from tests.serve.conftest import serving

PREDICTION = {"max_length_inference": 3, "min_length_inference": 3, "temperature": 0.0, "top_p": 0.9,
              "repetition_penalty": 1.2, "num_beams": 1, "top_k": 0}


def run_folder(root, model_dir=None, adapter_dir=None):
    run = root / "runs" / "exp1"
    (run / "checkpoint").mkdir(parents=True)
    if model_dir is not None:
        shutil.copytree(model_dir, run / "checkpoint" / "model")
    if adapter_dir is not None:
        shutil.copytree(adapter_dir, run / "checkpoint" / "adapter")
    (run / "status.json").write_text(json.dumps({"status": "Completed"}))
    (run / "config.yaml").write_text(yaml.safe_dump({"problem_type": "text_causal_language_modeling",
                                                     "prediction": PREDICTION}))
    return run


def test_a_run_folder_or_its_checkpoint_folder_resolves_to_the_merged_model(tmp_path, tiny_llama_dir):
    run = run_folder(tmp_path, model_dir=tiny_llama_dir)
    model = run / "checkpoint" / "model"
    for given in (run, run / "checkpoint", model):
        assert find_model_folder(given) == model.resolve()
    assert run_folder_of(model.resolve()) == run.resolve()
    (run / "checkpoint" / "adapter").mkdir()
    (run / "checkpoint" / "adapter" / "adapter_config.json").write_text("{}")
    assert find_model_folder(run) == model.resolve(), "the merged model wins over the adapter"
    shutil.rmtree(model)
    assert find_model_folder(run / "checkpoint") == (run / "checkpoint" / "adapter").resolve()
    with pytest.raises(ModelLoadError, match="run folder"):
        find_model_folder(tmp_path)


def test_a_hub_id_resolves_to_its_cached_snapshot_and_an_uncached_one_is_named(tmp_path, tiny_llama_dir):
    """A run's base model is often a Hub id: studio.serve takes it from the Hugging Face cache (offline here)."""
    import os
    import subprocess
    import sys

    snapshot = tmp_path / "hub" / "models--tiny-org--tiny-llama" / "snapshots" / "0"
    shutil.copytree(tiny_llama_dir, snapshot)
    (tmp_path / "hub" / "models--tiny-org--tiny-llama" / "refs").mkdir()
    (tmp_path / "hub" / "models--tiny-org--tiny-llama" / "refs" / "main").write_text("0")
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    code = "import sys; from studio.serve.model_loading import find_model_folder as f; print(f(sys.argv[1]))"
    found = subprocess.run([sys.executable, "-c", code, "tiny-org/tiny-llama"], env=env, capture_output=True,
                           text=True, check=True, timeout=120)
    assert found.stdout.strip() == str(snapshot.resolve())
    missing = subprocess.run([sys.executable, "-c", code, "tiny-org/absent"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert "--model tiny-org/absent: not in the Hugging Face cache" in missing.stderr


def test_the_runs_prediction_settings_become_the_defaults(tmp_path):
    run = run_folder(tmp_path)
    defaults = from_run_folder(run)
    assert defaults.as_dict() == {"max_tokens": 3, "min_tokens": 3, "temperature": 0.0, "top_p": 0.9, "top_k": 0,
                                  "repetition_penalty": 1.2, "num_beams": 1}
    (run / "config.yaml").write_text("prediction: {temperature: hot, num_beams: 2}\n")
    assert from_run_folder(run).num_beams == 2 and from_run_folder(run).temperature == 0.0
    assert from_run_folder(None).temperature == 1.0  # a bare model folder: the OpenAI defaults


def test_serving_a_checkpoint_folder_answers_with_the_runs_settings(tmp_path, tiny_llama_dir):
    run = run_folder(tmp_path, model_dir=tiny_llama_dir)
    with serving(run / "checkpoint", "tiny-run", tmp_path / "serve.log", api_key=None) as server:
        models = httpx.get(server["base_url"] + "/models", timeout=10).json()
        assert models["data"][0]["studio_generation_defaults"]["max_tokens"] == 3

        def ask(**extra):
            body = {"messages": [{"role": "user", "content": "What is the capital of France?"}], **extra}
            response = httpx.post(server["base_url"] + "/chat/completions", json=body, timeout=60)
            assert response.status_code == 200, response.text
            return response.json()

        plain = ask()
        # min = max = 3 new tokens from the run, greedy (temperature 0): the same answer twice.
        assert plain["usage"]["completion_tokens"] == 3
        assert ask()["choices"][0]["message"]["content"] == plain["choices"][0]["message"]["content"]
        assert ask(max_tokens=1, min_tokens=0)["usage"]["completion_tokens"] == 1
        beams = ask(num_beams=2, max_tokens=4, min_tokens=4)
        assert beams["usage"]["completion_tokens"] == 4
    assert "default generation settings from" in (tmp_path / "serve.log").read_text()
