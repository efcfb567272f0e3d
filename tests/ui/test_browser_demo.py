"""Demo mode in the browser: the home page's one button opens New Experiment on the demo data.

The app starts as it does on a Hugging Face Space (SPACE_ID set), so it seeds itself offline.
"""
from __future__ import annotations

import re

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


def test_visitor_clicks_try_it_and_sees_the_dialog_prefilled(page):
    with screenshot_on_failure(page, "demo-failure"):
        page.goto(page.base + "/")
        page.wait_for_selector("#demo-try-it")
        page.wait_for_selector("#card-datasets")
        page.click("#demo-try-it")
        page.wait_for_url(re.compile(r".*\?view=experiments&new=1&dataset=\w+&model=.*tiny-llama"))
        page.wait_for_selector("#new-experiment-dialog #advanced-yaml")
        page.wait_for_function(
            "document.querySelector('#advanced-yaml .cm-content')?.innerText.includes('train_dataset_id')")
        text = current_yaml(page)
        assert "tiny-llama" in text and "llm_backbone" in text
        assert page.locator("#start-training").is_enabled()
