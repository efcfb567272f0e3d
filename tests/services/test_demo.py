"""Demo mode: seeding an empty Studio offline, idempotently, and never a store in use."""
from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from studio.config import parse_overrides
from studio.config.presets import DRAFT_PRESETS, TRY_IT
from studio.services.context import AppContext
from studio.services.demo import TINY_MODELS, demo_requested, seed_demo
from studio.services.model_registry import load_registry
from studio.store import Store
from studio.ui.home import demo_start_url

TEXT_DEMOS = {"demo_instructions", "demo_chat", "demo_sentiment", "demo_preferences"}


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("demo seeding tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _snapshot(home):
    return {p.relative_to(home): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def test_seeding_an_empty_home_offline_adds_project_datasets_and_registered_models_once(studio_home, no_network):
    admin_entry = {"id": "my-org/my-model", "family": "Mine", "problem_types": ["image_classification"]}
    (studio_home / "models.yaml").write_text(yaml.safe_dump({"models": [admin_entry]}), encoding="utf-8")
    store = Store(studio_home)

    result = seed_demo(store, studio_home)

    assert result["seeded"]
    project = store.projects.get(result["project_id"])
    assert project["name"] == "Demo"
    names = {d["name"]: d for d in store.datasets.list(project["id"])}
    assert TEXT_DEMOS <= set(names)
    assert names["demo_instructions"]["rows"] == 300
    registry = {m.id: m for m in load_registry(studio_home)}
    assert registry["my-org/my-model"].problem_types == ("image_classification",)  # the admin's entry kept
    for folder, (_kind, types) in TINY_MODELS.items():
        path = studio_home / "models" / folder
        assert (path / "config.json").is_file()
        assert registry[str(path)].problem_types == tuple(types)
    assert registry[str(studio_home / "models" / "tiny-llama")].fits("text_dpo_modeling")

    before = _snapshot(studio_home)
    again = seed_demo(store, studio_home)
    assert again["added"] == []
    assert again["datasets"] == result["datasets"] and again["project_id"] == result["project_id"]
    assert _snapshot(studio_home) == before


def test_a_store_with_experiments_is_left_untouched(studio_home, no_network):
    store = Store(studio_home)
    store.experiments.add({"name": "mine", "status": "Completed"})
    before = _snapshot(studio_home)

    result = seed_demo(store, studio_home)

    assert result == {"seeded": False, "project_id": None, "datasets": {}, "models": {}, "added": []}
    assert _snapshot(studio_home) == before
    assert [p["name"] for p in store.projects.list()] != ["Demo"] and not (studio_home / "models").exists()


def test_the_home_button_opens_new_experiment_on_the_demo_dataset_and_tiny_model(studio_home, no_network):
    store = Store(studio_home)
    seeded = seed_demo(store, studio_home)
    ctx = AppContext.open(studio_home, start_runner=False)
    try:
        other = ctx.store.projects.create("Elsewhere")
        ctx.set_current_project(other["id"])

        url = urlparse(demo_start_url(ctx))

        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        tiny = str(studio_home / "models" / "tiny-llama")
        assert params == {"view": "experiments", "new": "1", "dataset": seeded["datasets"]["demo_instructions"],
                          "model": tiny, "preset": TRY_IT}
        assert ctx.current_project()["id"] == seeded["project_id"]
        text = ctx.experiments.draft_for_dataset(params["dataset"], params["model"], params["preset"])
        draft = parse_overrides(text)
        assert draft["llm_backbone"] == tiny
        # The quick settings come from the preset in studio/config, and the result is a valid experiment.
        config = ctx.experiments.validate(text)
        for section, values in DRAFT_PRESETS[TRY_IT].items():
            assert {key: getattr(getattr(config, section), key) for key in values} == values
        assert "training" not in parse_overrides(ctx.experiments.draft_for_dataset(params["dataset"], tiny, "nope"))
        assert draft["dataset"]["train_dataset_id"] == params["dataset"]
        assert draft.get("problem_type", "text_causal_language_modeling") == "text_causal_language_modeling"
        # A link cannot make the dialog pick a folder the registry does not offer.
        assert "llm_backbone" not in parse_overrides(
            ctx.experiments.draft_for_dataset(params["dataset"], str(studio_home)))
    finally:
        ctx.close()


@pytest.mark.parametrize("flag, env, expected", [
    (True, {}, True), (False, {}, False), (False, {"SPACE_ID": "me/studio"}, True),
    (False, {"SPACE_ID": "me/studio", "STUDIO_DEMO": "0"}, False), (True, {"STUDIO_DEMO": "0"}, False),
])
def test_demo_mode_is_on_with_the_flag_or_on_a_space_unless_turned_off(flag, env, expected):
    assert demo_requested(flag, env) is expected
