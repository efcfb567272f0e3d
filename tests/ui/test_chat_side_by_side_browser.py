"""End to end: the Chat page's Side by side tab sends one prompt to a run and its base model and shows both answers.

A Completed run (a tiny local Llama as its merged model, another tiny Llama as its base model)
is stored before the app starts. Choosing the run on the left puts its base model on the right;
both chat servers start in their own processes, and "Stop chat servers" ends them.
Screenshot: test-artifacts/screenshots/chat-side-by-side.png.
"""
from __future__ import annotations

import re

import psutil
import pytest

from tests.chat_runs import run_with_base_model
from tests.ui.browser_app import BROWSER_TEST, deployment_pids, running_app, screenshot, screenshot_on_failure

pytestmark = BROWSER_TEST
ANSWER_TIMEOUT_MS = 240_000  # two model servers load on a loaded 2-core machine
PROMPT = "Reverse the word: fish"


@pytest.fixture()
def app(tmp_path, tiny_llama_dir):
    from studio.store import Store
    from studio.store.database import forget_database

    home = tmp_path / "home"
    store = Store(home)
    row = run_with_base_model(store, home, "tuned-run", tiny_llama_dir, project_id=store.projects.default()["id"])
    forget_database(home / "db.json")
    with running_app(home, tmp_path / "app.log", deployment_pids) as url:
        yield url, home, row


@pytest.fixture()
def app_url(app):
    return app[0]


def bot_texts(page, chatbot: str) -> list[str]:
    return page.eval_on_selector_all(f"#{chatbot} .bot-row", "rows => rows.map(r => r.innerText.trim())")


def test_one_prompt_two_models_two_answers(page, app):
    base, home, row = app
    with screenshot_on_failure(page, "chat-side-by-side-failure"):
        page.goto(f"{base}/?view=chat")
        page.get_by_role("tab", name="Side by side").click()
        page.locator("#chat-pair-a input").click()
        page.get_by_role("option", name=re.compile("Experiment · tuned-run")).click()
        # The run's base model is offered for the other side.
        page.wait_for_function("document.querySelector('#chat-pair-b input')?.value?.startsWith('Base model of "
                               "tuned-run')")
        page.locator("#chat-pair-input textarea").fill(PROMPT)
        page.click("#chat-pair-send")
        for chatbot in ("chat-pair-answers-a", "chat-pair-answers-b"):
            page.wait_for_selector(f"#{chatbot} .message-row:has-text('{PROMPT}')")
        page.wait_for_function(
            "['a', 'b'].every(s => Array.from(document.querySelectorAll(`#chat-pair-answers-${s} .bot-row`))"
            ".some(r => r.innerText.trim().length > 0))", timeout=ANSWER_TIMEOUT_MS)
        page.wait_for_function("!document.querySelector('#chat-pair-status').innerText.match(/Generating|Starting/)",
                               timeout=ANSWER_TIMEOUT_MS)
        assert "⚠" not in page.locator("#chat-pair-status").inner_text()
        left, right = bot_texts(page, "chat-pair-answers-a"), bot_texts(page, "chat-pair-answers-b")
        assert len(left) == len(right) == 1 and "⚠" not in left[0] + right[0]
        assert "tuned-run" in page.locator("#chat-pair-answers-a").inner_text()  # each side names its model
        servers = deployment_pids(home)
        assert len(servers) == 2 and all(psutil.pid_exists(pid) for pid in servers)
        screenshot(page, "chat-side-by-side", 300)

        page.click("#chat-pair-stop-servers")
        page.locator("#chat-pair-status").get_by_text("2 chat server(s) stopped").wait_for()
        assert deployment_pids(home) == []
