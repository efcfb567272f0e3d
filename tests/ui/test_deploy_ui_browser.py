"""End to end: deploy a Completed experiment, see it Ready, chat with it, stop it, delete it.

The experiment is prepared before the app starts: its row is created through the
ExperimentService (runner not started) and the tiny local Llama is trained into its run folder
by the real engine CLI. Then the real app runs in a subprocess and Chromium drives the
Deployments and Chat pages. Screenshots land in test-artifacts/screenshots/deploy-*.png.
"""
from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from tests.engine_cli import run_engine
from tests.ui.browser_app import (
    BROWSER_TEST, deployment_pids, running_app, screenshot, screenshot_on_failure,
)

WORDS = ["cat", "dog", "sun", "red", "blue", "tree", "fish", "moon"]

pytestmark = BROWSER_TEST


def _completed_experiment(home: Path, model_dir: Path) -> dict:
    """A stored experiment trained to Completed by ``python -m training RUN_DIR``."""
    from studio.runner.run_folder_reader import read_final_metrics, read_status
    from studio.runner.supervisor import Supervisor
    from studio.services.experiments import ExperimentService
    from studio.store import Store
    from studio.store.database import forget_database

    store = Store(home)
    rng = random.Random(0)
    dataset = store.datasets.add({"name": "toy-repeat", "rows": 32})
    folder = home / "datasets" / dataset["id"]
    folder.mkdir(parents=True)
    pd.DataFrame([{"input": f"repeat: {w}", "output": w} for w in (rng.choice(WORDS) for _ in range(32))]) \
        .to_parquet(folder / "data.parquet")
    supervisor = Supervisor(store, home, gpus=[])  # not started: the app's runner must find nothing to do
    service = ExperimentService(store, supervisor, home)
    row = service.create({"experiment_name": "tiny-chat", "llm_backbone": str(model_dir),
                          "dataset": {"train_dataset_id": dataset["id"]}, "tokenizer": {"max_length": 32},
                          "training": {"batch_size": 8, "epochs": 1, "evaluation_epochs": 1},
                          "prediction": {"metrics": ["Perplexity"], "max_length_inference": 4},
                          "environment": {"seed": 1}}, store.projects.default()["id"])
    run_dir = service.run_dir(row["id"])
    result = run_engine(str(run_dir), STUDIO_HOME=str(home))
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_status(run_dir)["status"] == "Completed"
    final = read_final_metrics(run_dir)
    # What the runner records when a run ends (it is not running in this process).
    row = store.experiments.update(row["id"], status="Completed", stage=None, progress=1.0, final_metrics=final,
                                   metric_name="Perplexity", best_metric=final["Perplexity"])
    forget_database(home / "db.json")
    return row


def _completed_image_classifier(home: Path, model_dir: Path) -> dict:
    """A Completed image-classification experiment whose checkpoint is the tiny ViT (no training needed)."""
    import shutil

    import yaml

    from studio.store import Store
    from studio.store.database import forget_database

    store = Store(home)
    row = store.experiments.add({"name": "tiny-pets", "problem_type": "image_classification", "status": "Completed",
                                 "project_id": store.projects.default()["id"]})
    run = home / "runs" / row["id"]
    shutil.copytree(model_dir, run / "checkpoint" / "model")
    (run / "status.json").write_text(json.dumps({"status": "Completed"}))
    (run / "config.yaml").write_text(yaml.safe_dump({"problem_type": "image_classification",
                                                     "experiment_name": "tiny-pets"}))
    forget_database(home / "db.json")
    return row


@pytest.fixture()
def app(tmp_path, tiny_llama_dir, tiny_vit_dir):
    home = tmp_path / "studio_home"
    home.mkdir()
    experiment = _completed_experiment(home, tiny_llama_dir)
    _completed_image_classifier(home, tiny_vit_dir)
    # Serving processes outlive the app by design: the ones this test started end with it.
    with running_app(home, tmp_path / "app.log", deployment_pids) as url:
        yield {"url": url, "home": home, "experiment": experiment}


@pytest.fixture()
def app_url(app):
    return app["url"]


def shot(page, name: str) -> None:
    screenshot(page, f"deploy-{name}", settle_ms=500)


def test_user_deploys_a_completed_experiment_chats_with_it_and_stops_it(page, app):
    with screenshot_on_failure(page, "deploy-failure"):
        _flow(page, app)


def _flow(page, app):
    base, experiment = app["url"], app["experiment"]
    api_key = "sk-browser-test-key-0123456789"

    # The Deployments page starts empty; the New deployment dialog offers the Completed experiment.
    page.goto(base + "/?view=deployments")
    page.wait_for_selector("#deployments-empty:has-text('No deployments')")
    page.click("#new-deployment")
    page.wait_for_selector("#new-deployment-dialog")
    page.locator("#new-deployment-experiment input").click()
    page.get_by_role("option", name=re.compile("tiny-chat")).first.wait_for()
    shot(page, "01-new-deployment")

    # Deploy from the experiment's own page, with a name and an API key.
    page.goto(f"{base}/?view=experiment&id={experiment['id']}")
    page.wait_for_selector("#action-deploy", state="visible")
    page.click("#action-deploy")
    page.wait_for_selector("#deploy-dialog")
    page.locator("#deploy-name textarea, #deploy-name input").first.fill("Tiny Chat")
    page.locator("#deploy-key input").fill(api_key)
    page.click("#deploy-confirm")
    page.wait_for_selector("#deploy-message:has-text('is starting')")
    assert api_key not in page.content()
    link = page.locator("#deploy-message a")
    assert link.get_attribute("href").startswith("?view=deployments&id=")
    assert link.get_attribute("target") in (None, "_self"), "the link must not open a new tab"
    pages_before = len(page.context.pages)
    link.click()  # the link the dialog offers: the Deployments page on this deployment, in this tab
    page.wait_for_url(re.compile(r".*\?view=deployments&id=\w+"))
    assert len(page.context.pages) == pages_before

    # The row appears, Starting → Ready through the timer; the detail shows the snippets
    page.wait_for_selector("#deployments-table [role=gridcell]:has-text('Tiny Chat')")
    page.wait_for_selector("#deployments-table [role=gridcell]:has-text('Ready')", timeout=120_000)
    page.wait_for_selector("#deployment-badge:has-text('Ready')")
    curl = page.locator("#snippet-curl .cm-content").inner_text()
    python_snippet = page.locator("#snippet-python .cm-content").inner_text()
    assert "/v1/chat/completions" in curl and "STUDIO_API_KEY" in curl and "tiny-chat" in curl
    assert "OpenAI(" in python_snippet and "base_url=" in python_snippet
    # Each line number sits on its line (no wrapped lines shifting the gutter).
    offsets = page.evaluate("""() => {
        const box = document.querySelector('#snippet-python');
        const numbers = [...box.querySelectorAll('.cm-lineNumbers .cm-gutterElement')].filter(e => e.offsetHeight);
        const lines = [...box.querySelectorAll('.cm-line')];
        return lines.map((line, i) => Math.abs(line.getBoundingClientRect().top - numbers[i].getBoundingClientRect().top));
    }""")
    assert offsets and max(offsets) < 2, offsets
    assert api_key not in page.content()
    page.click("#deployment-health")
    page.wait_for_selector("#deployment-message:has-text('Healthy')")
    shot(page, "02-ready")

    # Chat with the deployment: the reply streams into the chatbot
    page.click("#deployment-chat")
    page.wait_for_url(re.compile(r".*\?view=chat&deployment=\w+"))
    page.wait_for_function("document.querySelector('#chat-source input')?.value?.includes('Tiny Chat')")
    page.locator("#chat-settings").get_by_text("Generation settings").click()
    max_tokens = page.locator("#chat-max-tokens input[type=number]")
    max_tokens.fill("8")
    max_tokens.press("Tab")
    page.locator("#chat-input textarea").fill("repeat: cat")
    page.click("#chat-send")
    page.wait_for_selector("#chatbot .message-row:has-text('repeat: cat')")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('#chatbot .bot-row, #chatbot .message-row.bot-row'))"
        ".some(r => r.innerText.trim().length > 0)")
    page.wait_for_function("!document.querySelector('#chat-status').innerText.includes('Generating')")
    assert "⚠" not in page.locator("#chat-status").inner_text()
    shot(page, "03-chat")
    page.click("#chat-clear")
    page.wait_for_function("!document.querySelector('#chatbot .message-row')")

    # Chat with the experiment itself: a private chat server starts, answers, and is stopped
    page.locator("#chat-source input").click()
    page.get_by_role("option", name=re.compile("Experiment · tiny-chat")).click()
    page.locator("#chat-input textarea").fill("repeat: dog")
    page.click("#chat-send")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('#chatbot .bot-row')).some(r => r.innerText.trim().length > 0)",
        timeout=90_000)
    page.wait_for_function("!document.querySelector('#chat-status').innerText.includes('Generating')")
    page.wait_for_selector("#chatbot .message-row:has-text('repeat: dog')")
    assert "⚠" not in page.locator("#chat-status").inner_text()
    chat_pid = _chat_server_pid(app["home"])
    shot(page, "04-chat-experiment")
    page.click("#chat-stop-server")
    page.wait_for_selector("#chat-status:has-text('Chat server stopped')")
    assert _gone(chat_pid)

    # An image classifier: text alone is refused with what to do; an attached image gets its label
    page.locator("#chat-source input").click()
    page.get_by_role("option", name=re.compile("Experiment · tiny-pets")).click()
    page.wait_for_function("document.querySelector('#chat-input textarea')?.placeholder?.includes('image')")
    page.locator("#chat-input textarea").fill("what is this?")
    page.click("#chat-send")
    page.wait_for_selector("#chat-status:has-text('attach an image')")
    page.locator("#chat-input input[type=file]").set_input_files(str(_picture(app["home"])))
    page.wait_for_selector("#chat-input img")
    page.click("#chat-send")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('#chatbot .bot-row')).some(r => r.innerText.includes('%'))",
        timeout=120_000)
    assert "⚠" not in page.locator("#chat-status").inner_text()
    shot(page, "04b-chat-image")
    page.click("#chat-stop-server")
    page.wait_for_selector("#chat-status:has-text('Chat server stopped')")

    # Stop the deployment: its process ends; then delete it after confirming
    page.goto(base + "/?view=deployments")
    page.locator("#deployments-table [role=gridcell]", has_text="Tiny Chat").first.click()
    page.wait_for_selector("#deployment-stop")
    pid = _deployment_pid(app["home"])
    page.click("#deployment-stop")
    page.wait_for_selector("#deployments-table [role=gridcell]:has-text('Stopped')")
    page.wait_for_selector("#deployment-start")
    assert _gone(pid)
    shot(page, "05-stopped")
    page.click("#deployment-delete")
    page.wait_for_selector("#confirm-delete-deployment:has-text('Delete deployment Tiny Chat')")
    page.click("#confirm-delete-deployment-yes")
    page.wait_for_selector("#deployments-empty:has-text('No deployments')")
    assert experiment["id"]  # the experiment itself stays


def _picture(home: Path) -> Path:
    from PIL import Image

    path = home.parent / "cat.png"
    Image.new("RGB", (40, 40), (200, 120, 40)).save(path)
    return path


def _deployment_pid(home: Path) -> int:
    rows = json.loads((home / "db.json").read_text())["deployments"].values()
    return next(int(r["pid"]) for r in rows if r.get("pid") and not r.get("ephemeral"))


def _chat_server_pid(home: Path) -> int:
    rows = json.loads((home / "db.json").read_text())["deployments"].values()
    return next(int(r["pid"]) for r in rows if r.get("pid") and r.get("ephemeral"))


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.2)
    return False
