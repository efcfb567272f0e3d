"""Ask KGM with a language model: a stub OpenAI-compatible server started here, the real `openai`
client, the real store and ExperimentService. The model's phrasing is shown, its extra suggestion
is checked against the schema and the project before it can be launched, and without a configured
model KGM stays offline."""
from __future__ import annotations

import json

from studio.services import kgm
from studio.services.app_settings import save_settings
from tests.openai_stub import stub_model
from tests.services.test_kgm_and_automl_runs import dataset, finish, service  # noqa: F401 (fixtures)

FLAT = [("train", v) for v in (2.0, 1.999, 1.998, 1.998, 1.997, 1.997)]
KEY = "sk-kgm-test-0123456789"
PHRASED = "Your loss hardly moved, so the steps were too small: triple the learning rate."


def flat_run(service, dataset):  # noqa: F811
    row = service.create({"experiment_name": "flat", "dataset": {"train_dataset_id": dataset["id"]},
                          "training": {"learning_rate": 1e-4}})
    return finish(service, row, losses=FLAT)


def configure(service, url, model="kgm-model"):  # noqa: F811
    save_settings(service.store, price=0, max_concurrent=None, judge_url=url, judge_key=KEY, kgm_model=model)


def test_without_a_kgm_model_kgm_stays_offline(service, dataset):  # noqa: F811
    source = flat_run(service, dataset)
    with stub_model({"explanation": PHRASED}) as server:
        save_settings(service.store, price=0, max_concurrent=None, judge_url=server.base_url, judge_key=KEY)
        assert not kgm.language_model_configured(service)
        assert kgm.ask_language_model(service, source["id"], kgm.ask(service, source["id"])) is None
    assert server.requests == []


def test_the_models_phrasing_and_valid_extra_suggestion_are_shown_and_the_extra_launches(service, dataset):  # noqa: F811
    source = flat_run(service, dataset)
    extra = {"title": "Warm up first", "explanation": "A warm-up protects the first updates.",
             "overrides": {"training": {"warmup_epochs": 0.2, "learning_rate": 0.0002}}}
    with stub_model("Here you go:\n```json\n" + json.dumps({"explanation": PHRASED, "extra": extra}) + "\n```") \
            as server:
        configure(service, server.base_url)
        offline = kgm.ask(service, source["id"])
        refined = kgm.ask_language_model(service, source["id"], kgm.as_state(offline))
    request = server.requests[0]
    assert request["body"]["model"] == "kgm-model"
    assert {k.lower(): v for k, v in request["headers"].items()}["authorization"] == f"Bearer {KEY}"
    sent = json.loads(request["body"]["messages"][-1]["content"])
    assert sent["evidence"] == offline.evidence and sent["recommendation"]["overrides"] == offline.overrides
    assert refined.recommendation.explanation == PHRASED
    assert refined.recommendation.overrides == offline.overrides  # the model words it; it does not change it
    assert "phrasing: the language model kgm-model" in refined.recommendation.evidence
    assert refined.extra.overrides == extra["overrides"] and refined.notes == []

    created = kgm.proceed(service, source["id"], kgm.as_state(refined.extra))
    assert service.config_of(created).training.warmup_epochs == 0.2
    assert "A warm-up protects the first updates." in service.store.experiments.require(created["id"])["explanation"]
    db = (service.home / "db.json").read_text()
    assert KEY not in db  # the key stays in secrets.json


def test_an_extra_suggestion_the_schema_rejects_is_dropped_with_the_field_named(service, dataset):  # noqa: F811
    source = flat_run(service, dataset)
    bad = {"explanation": PHRASED, "extra": {"title": "x", "overrides": {"training": {"learnin_rate": 0.1}}}}
    with stub_model(bad) as server:
        configure(service, server.base_url)
        refined = kgm.ask_language_model(service, source["id"], kgm.ask(service, source["id"]))
    assert refined.extra is None
    assert "training.learnin_rate" in refined.notes[0] and "not a valid configuration" in refined.notes[0]
    assert refined.recommendation.explanation == PHRASED


def test_an_extra_suggestion_out_of_bounds_or_already_run_is_dropped(service, dataset):  # noqa: F811
    source = flat_run(service, dataset)
    for overrides, said in (({"training": {"epochs": -1}}, "training.epochs"),
                            ({"training": {"learning_rate": 1e-4}}, "changes nothing"),
                            ({"training": {"learning_rate": 0.0003}}, "KGM's own suggestion")):
        with stub_model({"explanation": PHRASED, "extra": {"overrides": overrides}}) as server:
            configure(service, server.base_url)
            refined = kgm.ask_language_model(service, source["id"], kgm.ask(service, source["id"]))
        assert refined.extra is None and said in refined.notes[0], (overrides, refined.notes)
    other = service.create({"experiment_name": "earlier", "dataset": {"train_dataset_id": dataset["id"]},
                            "training": {"learning_rate": 1e-4, "epochs": 3}})
    with stub_model({"explanation": PHRASED, "extra": {"overrides": {"training": {"epochs": 3}}}}) as server:
        configure(service, server.base_url)
        refined = kgm.ask_language_model(service, source["id"], kgm.ask(service, source["id"]))
    assert refined.extra is None and "already run in this project (earlier)" in refined.notes[0]
    assert other["id"]


def test_a_model_that_fails_or_rambles_leaves_kgms_own_advice(service, dataset):  # noqa: F811
    source = flat_run(service, dataset)
    offline = kgm.ask(service, source["id"])
    with stub_model("I think you should train more.") as server:
        configure(service, server.base_url)
        rambled = kgm.ask_language_model(service, source["id"], offline)
        server.status = 401
        refused = kgm.ask_language_model(service, source["id"], offline)
    assert rambled.recommendation.explanation == offline.explanation and "JSON" in rambled.notes[0]
    assert refused.recommendation.explanation == offline.explanation
    assert "did not answer" in refused.notes[0] and KEY not in refused.notes[0]
    # The server is gone: a refused connection is a note too, not an error.
    gone = kgm.ask_language_model(service, source["id"], offline)
    assert "did not answer" in gone.notes[0]


def test_an_extra_suggestion_may_not_change_the_data_nor_pick_an_unregistered_or_unloadable_model(
        service, dataset, studio_home, tiny_llama_dir, monkeypatch):  # noqa: F811
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(studio_home / "empty-hf-cache"))
    (studio_home / "models.yaml").write_text(f"models:\n  - {{id: '{tiny_llama_dir}', family: Local}}\n")
    source = flat_run(service, dataset)
    cases = (({"dataset": {"validation_size": 0.3}}, "changes dataset"),
             ({"llm_backbone": "someone/unknown-7b"}, "someone/unknown-7b is not a registered model"),
             ({"llm_backbone": "Qwen/Qwen3-0.6B"}, "cannot be loaded on this machine"),
             ({"llm_backbone": str(tiny_llama_dir)}, None))
    for overrides, said in cases:
        with stub_model({"explanation": PHRASED, "extra": {"overrides": overrides}}) as server:
            configure(service, server.base_url)
            refined = kgm.ask_language_model(service, source["id"], kgm.ask(service, source["id"]))
        if said is None:
            assert refined.extra.overrides == overrides and refined.notes == []
        else:
            assert refined.extra is None and said in refined.notes[0], (overrides, refined.notes)


def test_a_signed_in_user_asks_with_their_own_judge_key_and_nobody_asks_with_none(service, dataset):  # noqa: F811
    from studio.services.access_policy import NOBODY, Actor
    from studio.services.judge_endpoint import save_judge_endpoint

    source = flat_run(service, dataset)
    with stub_model({"explanation": PHRASED}) as server:
        configure(service, server.base_url)
        save_judge_endpoint(service.store, server.base_url, "sk-ann-own-key", user="ann")
        offline = kgm.ask(service, source["id"])
        refined = kgm.ask_language_model(service, source["id"], offline, actor=Actor("ann", "member"))
        assert kgm.ask_language_model(service, source["id"], offline, actor=NOBODY) is None
    assert refined.recommendation.explanation == PHRASED
    headers = {k.lower(): v for k, v in server.requests[0]["headers"].items()}
    assert headers["authorization"] == "Bearer sk-ann-own-key" and len(server.requests) == 1
