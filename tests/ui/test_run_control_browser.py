"""End to end: stop, resume, ask KGM and refresh on a long run, through the experiment page.

A long run (tiny local Llama, 20 epochs of a few hundred rows) is stored through the
ExperimentService before the app starts (runner not started, so it stays Queued); the app's
runner picks it up at start. Chromium then presses Stop and Resume on its page and checks
what users of other studios find broken: the process really ends on Stop, Resume continues
from the checkpoint instead of step 0, the page survives a refresh, and Ask KGM on the
stopped run launches a connected experiment. Screenshots: test-artifacts/screenshots/control-*.png.
"""
from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.ui.browser_app import BROWSER_TEST, menu_action, run_pids, running_app, screenshot, screenshot_on_failure

WORDS = ["cat", "dog", "sun", "red", "blue", "tree", "fish", "moon", "star", "rain"]
LIVE_TIMEOUT_MS = 120_000  # the engine's start (imports, model load) on a loaded 2-core machine
STOP_TIMEOUT_MS = 20_000

pytestmark = BROWSER_TEST


def _queued_long_run(home: Path, model_dir: Path) -> dict:
    """A stored, queued experiment that would train for minutes on CPU (the test stops it)."""
    from studio.runner.supervisor import Supervisor
    from studio.services.experiments import ExperimentService
    from studio.store import Store
    from studio.store.database import forget_database

    store = Store(home)
    rng = random.Random(0)
    rows = 400
    dataset = store.datasets.add({"name": "toy-repeat", "rows": rows})
    folder = home / "datasets" / dataset["id"]
    folder.mkdir(parents=True)
    pd.DataFrame([{"input": f"repeat: {w}", "output": w} for w in (rng.choice(WORDS) for _ in range(rows))]) \
        .to_parquet(folder / "data.parquet")
    supervisor = Supervisor(store, home, gpus=[])  # not started: the app's runner launches the queued row
    service = ExperimentService(store, supervisor, home)
    row = service.create({"experiment_name": "long-run", "llm_backbone": str(model_dir),
                          "dataset": {"train_dataset_id": dataset["id"], "data_sample": 1.0},
                          "tokenizer": {"max_length": 24},
                          # Frequent evaluations: each one writes checkpoint/last, what Resume needs.
                          "training": {"batch_size": 8, "epochs": 20, "evaluation_epochs": 0.5},
                          "prediction": {"metrics": ["Perplexity"], "max_length_inference": 4},
                          "environment": {"seed": 1}}, store.projects.default()["id"])
    forget_database(home / "db.json")
    return row


@pytest.fixture()
def app(tmp_path, tiny_llama_dir):
    home = tmp_path / "studio_home"
    home.mkdir()
    experiment = _queued_long_run(home, tiny_llama_dir)
    # Whatever still trains when the test ends (a failed step) ends with the app.
    with running_app(home, tmp_path / "app.log", run_pids) as url:
        yield {"url": url, "home": home, "experiment": experiment}


@pytest.fixture()
def app_url(app):
    return app["url"]


def shot(page, name: str) -> None:
    screenshot(page, f"control-{name}", settle_ms=500)


def test_stop_resume_refresh_and_kgm_on_a_long_run(page, app):
    with screenshot_on_failure(page, "control-failure"):
        _flow(page, app["home"], app["experiment"]["id"])


def _flow(page, home: Path, experiment_id: str) -> None:
    run_dir = home / "runs" / experiment_id
    page.goto(f"{page.base}/?view=experiment&id={experiment_id}")
    page.wait_for_selector("#status-badge:has-text('Training')", timeout=LIVE_TIMEOUT_MS)
    page.wait_for_selector("#action-stop", state="visible")
    # Stop only once a checkpoint exists and training went past it, so Resume has something to continue.
    # Training past it too: the steps after the checkpoint are redone on resume, never logged twice.
    _wait_for(lambda: _max_train_step(run_dir) > _checkpoint_step(run_dir) > 0,
              LIVE_TIMEOUT_MS / 1000, "training past a first checkpoint/last")
    pid = _status(run_dir)["pid"]
    assert _alive(pid)
    shot(page, "01-training")

    # Stop: the badge says Stopped and the whole process group is gone.
    page.click("#action-stop")
    page.wait_for_selector("#status-badge:has-text('Stopped')", timeout=STOP_TIMEOUT_MS)
    _wait_for(lambda: not _alive(pid), 10, f"the training process {pid} to end")
    _wait_for(lambda: not _group_alive(pid), 10, f"the process group {pid} to end")
    steps_before = _max_train_step(run_dir)
    checkpoint_step = _checkpoint_step(run_dir)
    assert 0 < checkpoint_step <= steps_before
    page.wait_for_selector("#action-resume", state="visible")
    assert not page.locator("#action-stop").is_visible()
    shot(page, "02-stopped")

    # A refresh lands on the same view: status, resolved config and logs read back from the run folder.
    page.reload()
    page.wait_for_selector("#status-badge:has-text('Stopped')")
    page.wait_for_selector("#action-resume", state="visible")
    page.wait_for_function("document.querySelectorAll('#metrics-chart .scatterlayer .trace').length >= 1")
    page.get_by_role("tab", name="Configuration").click()
    page.wait_for_selector("#resolved-config:has-text('padding_side')")
    # CodeMirror draws only the lines in the window: scroll down until the training section is drawn.
    page.wait_for_function("() => { window.scrollBy(0, 300); return document.querySelector("
                           "'#resolved-config .cm-content')?.innerText.includes('epochs: 20'); }")
    page.evaluate("window.scrollTo(0, 0)")
    page.get_by_role("tab", name="Training logs").click()
    page.wait_for_function("document.querySelector('#train-log textarea')?.value.includes('stopped by request')")
    shot(page, "03-after-reload")

    # Resume: Training again, continuing after the checkpoint instead of from step 0.
    page.click("#action-resume")
    page.wait_for_selector("#status-badge:has-text('Training')", timeout=LIVE_TIMEOUT_MS)
    resumed_line = f"resumed from checkpoint/last at step {checkpoint_step}/"
    page.wait_for_function(f"document.querySelector('#train-log textarea')?.value.includes({resumed_line!r})",
                           timeout=LIVE_TIMEOUT_MS)
    resumed_pid = _status(run_dir)["pid"]
    assert resumed_pid != pid and _alive(resumed_pid)
    _wait_for(lambda: _max_train_step(run_dir) > max(steps_before, checkpoint_step) + 2,
              LIVE_TIMEOUT_MS / 1000, "training steps after the resume")
    steps = _train_steps(run_dir)
    assert steps == sorted(steps), f"train steps went backwards after resume: {steps}"
    assert len(steps) == len(set(steps)), "a step was logged twice (the engine restarted from 0)"
    assert steps[0] == 1 and steps[-1] > checkpoint_step
    shot(page, "04-resumed")

    # Stop again: the run ends Stopped, ready for Ask KGM.
    page.click("#action-stop")
    page.wait_for_selector("#status-badge:has-text('Stopped')", timeout=STOP_TIMEOUT_MS)
    _wait_for(lambda: not _group_alive(resumed_pid), 15, f"the process group {resumed_pid} to end")

    # Ask KGM on the stopped run: a recommendation, then Proceed opens a connected experiment.
    menu_action(page, "action-kgm")
    page.wait_for_selector("#kgm-dialog", state="visible")
    page.wait_for_function("document.querySelector('#kgm-title')?.innerText.trim().length > 0")
    assert page.locator("#kgm-explanation").inner_text().strip()
    overrides = page.locator("#kgm-overrides .cm-content").inner_text()
    assert re.search(r"^\w+:", overrides, re.M), overrides
    shot(page, "05-kgm-dialog")
    source_url = page.url
    page.click("#kgm-proceed")
    page.wait_for_function(f"window.location.href !== {source_url!r} "
                           "&& window.location.href.includes('view=experiment&id=')")
    child_id = re.search(r"id=(\w+)", page.url).group(1)
    assert child_id != experiment_id
    page.wait_for_selector("#experiment-header:has-text('long-run-kgm')")
    page.get_by_role("tab", name="Connected experiments").click()
    page.wait_for_selector("#connected-experiments [role=gridcell]:has-text('kgm')")
    page.wait_for_selector("#connected-experiments [role=gridcell]:has-text('long-run')")
    shot(page, "06-kgm-connected")

    # Leave nothing running: delete the KGM experiment (a running one is stopped first).
    menu_action(page, "action-delete")
    page.click("#confirm-delete-experiment")
    page.wait_for_url(re.compile(r".*\?view=experiments$"))
    _wait_for(lambda: not (home / "runs" / child_id).exists(), 30, "the KGM run folder to be removed")
    assert all(not _group_alive(p) for p in run_pids(home))


# ---------------------------------------------------------------- run-folder reads

def _status(run_dir: Path) -> dict:
    return json.loads((run_dir / "status.json").read_text())


def _train_steps(run_dir: Path) -> list[int]:
    steps = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # a line being written
            continue
        if record.get("split") == "train" and record.get("name") == "loss":
            steps.append(int(record["step"]))
    return steps


def _max_train_step(run_dir: Path) -> int:
    try:
        return max(_train_steps(run_dir), default=0)
    except OSError:
        return 0


def _checkpoint_step(run_dir: Path) -> int:
    try:
        return int(json.loads((run_dir / "checkpoint" / "last" / "state.json").read_text())["step"])
    except (OSError, ValueError):  # none yet, or being replaced by a newer one
        return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
