"""End to end, offline: the model check before Start, the actions menu, one-click download, AutoML
and Ask KGM on a run whose model could not be loaded.

Two experiments are stored before the app starts (the app's runner picks them up): one on the
tiny local Llama, which completes, and one on the default Hub model, which fails because the
machine is offline (HF_HUB_OFFLINE=1). The tiny Llama is registered the README's way, without
problem types. Screenshots: test-artifacts/screenshots/actions-*.png.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.ui.browser_app import (BROWSER_TEST, current_yaml, menu_action, run_pids, running_app, screenshot,
                                  screenshot_on_failure, type_yaml)

pytestmark = BROWSER_TEST
RUN_TIMEOUT_MS = 240_000
HUB_MODEL = "h2oai/h2o-danube3-500m-chat"


def _stored_experiments(home: Path, model_dir: Path) -> dict:
    from studio.runner.supervisor import Supervisor
    from studio.services.experiments import ExperimentService
    from studio.store import Store
    from studio.store.database import forget_database

    store = Store(home)
    dataset = store.datasets.add({"name": "repeat-words", "rows": 48})
    folder = home / "datasets" / dataset["id"]
    folder.mkdir(parents=True)
    words = ["cat", "dog", "sun", "red", "blue", "tree"]
    pd.DataFrame([{"input": f"repeat: {words[i % 6]}", "output": words[i % 6]} for i in range(48)]) \
        .to_parquet(folder / "data.parquet")
    service = ExperimentService(store, Supervisor(store, home, gpus=[]), home)  # not started
    project = store.projects.default()["id"]
    common = {"dataset": {"train_dataset_id": dataset["id"]}, "tokenizer": {"max_length": 24},
              "training": {"batch_size": 8, "epochs": 1}, "prediction": {"max_length_inference": 4}}
    done = service.create({**common, "experiment_name": "tiny-full", "llm_backbone": str(model_dir),
                           "architecture": {"training_mode": "full"}}, project)
    offline = service.create({**common, "experiment_name": "hub-offline", "llm_backbone": HUB_MODEL}, project)
    forget_database(home / "db.json")
    return {"dataset": dataset, "done": done, "offline": offline}


@pytest.fixture()
def app(tmp_path, tiny_llama_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the app and its runs: an offline machine
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))
    home = tmp_path / "studio_home"
    home.mkdir()
    (home / "models.yaml").write_text(f"models:\n  - {{id: '{tiny_llama_dir}', family: Local}}\n")
    stored = _stored_experiments(home, tiny_llama_dir)
    with running_app(home, tmp_path / "app.log", run_pids) as url:
        yield {"url": url, "home": home, "model": str(tiny_llama_dir), **stored}


@pytest.fixture()
def app_url(app):
    return app["url"]


def shot(page, name: str) -> None:
    screenshot(page, f"actions-{name}", settle_ms=500)


def test_offline_model_check_actions_menu_download_automl_and_kgm(page, app):
    with screenshot_on_failure(page, "actions-failure"):
        _new_experiment_checks_the_model(page, app)
        _kgm_on_the_failed_run(page, app)
        _menu_download_and_automl(page, app)


def _experiment(page, experiment_id: str, status: str) -> None:
    page.goto(f"{page.base}/experiment?id={experiment_id}")
    page.wait_for_selector(f"#status-badge:has-text('{status}')", timeout=RUN_TIMEOUT_MS)


def _new_experiment_checks_the_model(page, app):
    page.goto(page.base + "/experiments?new=1")
    page.wait_for_selector("#new-experiment-dialog #advanced-yaml")
    # Offline, the dialog opens on the registered model that loads here, not the Hub default.
    page.wait_for_selector("#model-availability:has-text('local folder')")
    assert app["model"] in current_yaml(page)
    # Image Classification does not offer a Llama registered without problem types.
    page.locator("#field-problem_type input").click()
    page.get_by_role("option", name="Image Classification", exact=True).click()
    page.wait_for_timeout(800)
    page.locator("#field-llm_backbone input").click()
    assert not page.get_by_role("option", name=app["model"]).count()
    page.keyboard.press("Escape")
    type_yaml(page, f"llm_backbone: {HUB_MODEL}\ndataset:\n  train_dataset_id: {app['dataset']['id']}\n")
    page.wait_for_selector("#config-errors:has-text('cannot be loaded on this machine')")
    assert "HF_HUB_OFFLINE" in page.locator("#config-errors").inner_text()
    assert page.locator("#start-training").is_disabled()
    shot(page, "01-offline-model-blocked")


def _kgm_on_the_failed_run(page, app):
    _experiment(page, app["offline"]["id"], "Failed")
    page.wait_for_selector("#status-bar:has-text('cannot load')")
    menu_action(page, "action-kgm")
    page.wait_for_selector("#kgm-dialog", state="visible")
    page.wait_for_function("document.querySelector('#kgm-title')?.innerText.trim().length > 0")
    explanation = page.locator("#kgm-explanation").inner_text()
    assert "could not be loaded" in explanation and "converged" not in explanation
    overrides = page.locator("#kgm-overrides .cm-content").inner_text()
    assert f"llm_backbone: {app['model']}" in overrides and "lora" not in overrides, overrides
    assert page.locator("#kgm-proceed").is_enabled()
    shot(page, "02-kgm-failed-run")
    page.click("#kgm-close")


def _menu_download_and_automl(page, app):
    _experiment(page, app["done"]["id"], "Completed")
    page.wait_for_selector("#action-deploy", state="visible")  # Deploy stays at the top right
    assert not page.locator("#action-rerun").is_visible()  # the rest waits in the "…" menu
    page.click("#action-more")
    page.wait_for_selector("#action-menu.open #action-automl", state="visible")
    labels = [t.strip() for t in page.locator("#action-menu button:visible").all_inner_texts()]
    assert labels[:5] == ["Push to Hugging Face", "Ask KGM", "AutoML", "Rerun", "Copy"], labels
    assert labels[-1] == "Delete"
    widths = {round(b.bounding_box()["width"]) for b in page.locator("#action-menu button:visible").all()}
    assert len(widths) == 1, widths  # no item stretched
    shot(page, "03-actions-menu")
    page.keyboard.press("Escape")
    page.wait_for_selector("#action-menu.open", state="detached")

    # Download logs & config: one click, one zip; no file widget appears on the page.
    with page.expect_download(timeout=30_000) as download:
        menu_action(page, "action-download")
    data = Path(download.value.path()).read_bytes()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert any(n.endswith("/config.yaml") for n in names) and any(n.endswith("/train.log") for n in names)
    box = page.locator("#archive-download").bounding_box()
    assert box is None or box["x"] < 0 or box["width"] <= 1
    assert not page.locator("#action-menu.open").count()

    # AutoML on a Causal LM run: a study optimising the run's metric; a double click creates one study.
    menu_action(page, "action-automl")
    page.wait_for_selector("#automl-dialog", state="visible")
    page.wait_for_selector("#automl-about:has-text('Perplexity')")
    page.locator("#study-max-trials textarea, #study-max-trials input").first.fill("2")
    shot(page, "04-automl-dialog")
    page.locator("#automl-create").dblclick()
    page.wait_for_url(re.compile(r".*\?view=study&study=\w+"))
    page.wait_for_selector("#study-trials:has-text('-study-trial-0')")
    page.goto(f"{page.base}/?view=studies")
    page.wait_for_selector("#studies-table [role=gridcell]")
    assert page.locator("#studies-table").inner_text().count("-study") == 1  # one study, not two
    shot(page, "05-automl-study")
