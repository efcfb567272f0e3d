"""Demo mode in the browser: the home page's one button opens New Experiment on the demo data, and Start
trains the tiny model to Completed with a chart.

The app starts as it does on a Hugging Face Space (SPACE_ID set) without persistent storage, so it
seeds itself offline and says that its data does not survive a restart.
"""
from __future__ import annotations

import re
import time

import pytest

from tests.ui.browser_app import BROWSER_TEST, current_yaml, run_pids, running_app, screenshot_on_failure

pytestmark = BROWSER_TEST


@pytest.fixture()
def app_url(tmp_path, monkeypatch):
    home = tmp_path / "studio_home"
    home.mkdir()
    monkeypatch.setenv("SPACE_ID", "someone/studio-demo")
    monkeypatch.delenv("STUDIO_DEMO", raising=False)
    with running_app(home, tmp_path / "app.log", run_pids) as url:
        yield url


def test_visitor_clicks_try_it_and_sees_the_run_complete_with_a_chart(page):
    with screenshot_on_failure(page, "demo-failure"):
        page.goto(page.base + "/")
        # The first render of the whole page can hold the browser's main thread for 20 s on 2 busy cores.
        page.wait_for_selector("#ephemeral-banner:has-text('does not survive a restart')", timeout=90_000)
        page.wait_for_selector("#demo-try-it", timeout=90_000)
        page.wait_for_selector("#card-datasets", timeout=90_000)
        page.click("#demo-try-it")
        page.wait_for_url(re.compile(r".*\?view=experiments&new=1&dataset=\w+&model=.*tiny-llama.*&preset=try-it"))
        page.wait_for_selector("#new-experiment-dialog #advanced-yaml")
        page.wait_for_function(
            "document.querySelector('#advanced-yaml .cm-content')?.innerText.includes('train_dataset_id')")
        text = current_yaml(page)
        assert "tiny-llama" in text and "llm_backbone" in text
        assert "batch_size: 8" in text  # the quick settings of studio/config/presets.py
        assert page.locator("#start-training").is_enabled()

        page.click("#start-training")
        started = time.monotonic()
        page.wait_for_url(re.compile(r".*\?view=experiment&id=\w+"))
        page.wait_for_selector("#status-badge:has-text('Completed')", timeout=240_000)
        elapsed = time.monotonic() - started
        page.wait_for_function("document.querySelectorAll('#metrics-chart .scatterlayer .trace').length >= 1")
        assert page.locator("#metrics-chart .scatterlayer .trace path.js-line").count() >= 1
        print(f"Try it: Start to Completed in {elapsed:.0f} s")  # the figure docs/ui.md quotes

        # The demo's limits: Deploy disabled with the reason beside it, Push to Hugging Face not offered.
        page.wait_for_selector("#action-deploy", state="visible")
        assert page.locator("#action-deploy").is_disabled()
        page.wait_for_selector("#deploy-note:has-text('Deploy is turned off on this Studio')")
        assert "Push to Hugging Face is turned off" in page.locator("#deploy-note").inner_text()
        page.click("#action-more")
        page.wait_for_selector("#action-menu.open #action-kgm", state="visible")
        assert not page.locator("#action-push").is_visible()
