"""End to end: Ask KGM on a finished run → Proceed → the connected experiment shows why it exists.

Before the app starts, two finished experiments on one dataset are stored through the
ExperimentService (run folders as a finished run leaves them): "base" at learning rate 1e-4 and
"faster" at 3e-4, which reached a lower validation loss. Settings name a KGM model on a stub
OpenAI-compatible server started here, so the dialog shows the model's phrasing and its checked
extra suggestion. Proceed queues the suggestion (the app's runner trains it on the tiny local
Llama); its page shows the stored explanation with the evidence, and Connected experiments lists
it as "kgm". Screenshots: test-artifacts/screenshots/kgm-*.png.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.openai_stub import stub_model
from tests.ui.browser_app import BROWSER_TEST, menu_action, run_pids, running_app, screenshot, screenshot_on_failure

pytestmark = BROWSER_TEST
PHRASED = "The faster learning rate did better on this dataset, so KGM moves this run to it."
EXTRA = {"title": "Warm up first", "explanation": "A short warm-up protects the first updates.",
         "overrides": {"training": {"warmup_epochs": 0.2}}}
# A page load of the app on a loaded 2-core machine (the KGM child trains meanwhile).
PAGE_TIMEOUT_MS = 90_000
PLATEAU = (2.0, 1.5, 1.2, 1.1, 1.1, 1.1, 1.1, 1.1)


def _finished_runs(home: Path, model_dir: Path, stub_url: str) -> dict:
    from studio.runner.supervisor import Supervisor
    from studio.services.app_settings import save_settings
    from studio.services.experiments import ExperimentService
    from studio.store import Store
    from studio.store.database import forget_database

    store = Store(home)
    dataset = store.datasets.add({"name": "repeat-words", "rows": 32})
    folder = home / "datasets" / dataset["id"]
    folder.mkdir(parents=True)
    words = ["cat", "dog", "sun", "red"]
    pd.DataFrame([{"input": f"repeat: {words[i % 4]}", "output": words[i % 4]} for i in range(32)]) \
        .to_parquet(folder / "data.parquet")
    service = ExperimentService(store, Supervisor(store, home, gpus=[]), home)  # not started
    project = store.projects.default()["id"]
    rows = {}
    for name, rate, epochs, loss in (("base", 1e-4, 2, 1.20), ("faster", 3e-4, 1, 1.08)):
        row = service.create({"experiment_name": name, "llm_backbone": str(model_dir),
                              "dataset": {"train_dataset_id": dataset["id"]}, "tokenizer": {"max_length": 24},
                              "training": {"batch_size": 8, "epochs": epochs, "learning_rate": rate},
                              "prediction": {"metrics": ["Perplexity"], "max_length_inference": 4}}, project)
        run_dir = service.run_dir(row["id"])
        (run_dir / "metrics.jsonl").write_text("".join(
            json.dumps({"step": step, "epoch": step / 8, "time": step, "split": "train", "name": "loss",
                        "value": value}) + "\n" for step, value in enumerate(PLATEAU, start=1)))
        (run_dir / "final_metrics.json").write_text(json.dumps({"loss": loss, "Perplexity": 3.0}))
        service.supervisor.stop(row["id"])  # off the queue, as a finished run is
        rows[name] = store.experiments.update(row["id"], status="Completed", stage="completed", runtime_s=90.0,
                                              final_metrics={"loss": loss, "Perplexity": 3.0})
    save_settings(store, price=0, max_concurrent=None, judge_url=stub_url, judge_key="sk-browser-kgm",
                  kgm_model="kgm-model")
    forget_database(home / "db.json")
    return rows


@pytest.fixture()
def app(tmp_path, tiny_llama_dir):
    home = tmp_path / "studio_home"
    home.mkdir()
    with stub_model({"explanation": PHRASED, "extra": EXTRA}) as server:
        rows = _finished_runs(home, tiny_llama_dir, server.base_url)
        with running_app(home, tmp_path / "app.log", run_pids) as url:
            yield {"url": url, "home": home, "server": server, **rows}


@pytest.fixture()
def app_url(app):
    return app["url"]


def test_ask_kgm_then_proceed_opens_a_connected_experiment_that_shows_its_explanation(page, app):
    with screenshot_on_failure(page, "kgm-failure"):
        page.goto(f"{page.base}/?view=experiment&id={app['base']['id']}")
        page.wait_for_selector("#status-badge:has-text('Completed')", timeout=PAGE_TIMEOUT_MS)
        assert not page.locator("#experiment-explanation").is_visible()  # not made by KGM
        menu_action(page, "action-kgm")
        page.wait_for_selector("#kgm-dialog", state="visible")
        page.wait_for_selector("#kgm-title:has-text('learning rate that did better')")
        assert "learning_rate: 0.0003" in page.locator("#kgm-overrides .cm-content").inner_text()
        # The language model's phrasing replaces the explanation; KGM's evidence stays.
        page.wait_for_selector(f"#kgm-explanation:has-text('{PHRASED}')")
        evidence = page.locator("#kgm-explanation").inner_text()
        assert "learning rate 0.0003 beat 0.0001 by 0.12 validation loss" in evidence
        page.wait_for_selector("#kgm-extra:has-text('Warm up first')")
        assert "warmup_epochs: 0.2" in page.locator("#kgm-extra-overrides .cm-content").inner_text()
        assert app["server"].requests, "the dialog did not ask the language model"
        screenshot(page, "kgm-dialog", 500)

        page.click("#kgm-proceed")
        page.wait_for_function(f"window.location.href.includes('id=') && "
                               f"!window.location.href.includes({app['base']['id']!r})")
        child_id = re.search(r"id=(\w+)", page.url).group(1)
        page.wait_for_selector("#experiment-header:has-text('base-kgm')", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_selector("#experiment-explanation", state="visible", timeout=PAGE_TIMEOUT_MS)
        note = page.locator("#experiment-explanation").inner_text()
        assert "Use the learning rate that did better" in note and PHRASED in note
        assert "learning rate 0.0003 beat 0.0001" in note
        page.get_by_role("tab", name="Connected experiments").click()
        page.wait_for_selector("#connected-experiments [role=gridcell]:has-text('kgm')")
        page.wait_for_selector("#connected-experiments [role=gridcell]:has-text('base')")
        page.reload()  # the explanation is stored on the experiment, not held by the page
        page.wait_for_selector("#experiment-explanation:has-text('learning rate 0.0003 beat 0.0001')",
                               timeout=PAGE_TIMEOUT_MS)
        screenshot(page, "kgm-connected", 500)

        # Leave nothing running: delete the KGM experiment (a running one is stopped first).
        menu_action(page, "action-delete")
        page.click("#confirm-delete-experiment")
        page.wait_for_url(re.compile(r".*\?view=experiments$"))
        assert child_id != app["base"]["id"]
