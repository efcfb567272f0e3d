"""End to end: Evaluate against the base model from the experiment page and read the win rate.

A completed Causal LM experiment (a tiny local model as its merged checkpoint) and a scripted
local judge are set up before the app starts; Chromium opens the experiment, starts the
evaluation on the "Evaluate against…" tab, and waits for the win rate and the verdict table.
Screenshot: test-artifacts/screenshots/evaluation-win-rate.png.
"""
from __future__ import annotations

import pytest

from tests.evaluation_fixtures import PROMPTS, completed_experiment, scripted_judge
from tests.ui.browser_app import BROWSER_TEST, running_app, screenshot, screenshot_on_failure

pytestmark = BROWSER_TEST
EVALUATION_TIMEOUT_MS = 300_000  # two serving processes start and answer on a loaded 2-core machine


@pytest.fixture()
def app(tmp_path, tiny_llama_dir):
    """(app URL, id of the completed experiment)."""
    from studio.services.judge_endpoint import save_judge_endpoint
    from studio.store import Store
    from studio.store.database import forget_database

    home = tmp_path / "home"
    with scripted_judge() as judge:
        store = Store(home)
        row = completed_experiment(store, home, tiny_llama_dir, seed=5)
        save_judge_endpoint(store, judge)
        forget_database(home / "db.json")
        with running_app(home, tmp_path / "app.log", lambda _home: []) as url:
            yield url, row["id"]


@pytest.fixture()
def app_url(app):
    return app[0]


def test_evaluate_against_the_base_model_shows_the_win_rate(page, app):
    base, experiment_id = app
    with screenshot_on_failure(page, "evaluation-failure"):
        page.goto(f"{base}/experiment?id={experiment_id}")
        page.get_by_role("tab", name="Evaluate against…").click()
        page.wait_for_function("document.querySelector('#evaluation-baseline input')"
                               " && document.querySelector('#evaluation-baseline input').value.startsWith('Base')")
        assert page.locator("#evaluation-judge-model textarea, #evaluation-judge-model input").first.input_value()
        page.locator("#evaluation-judge-model textarea, #evaluation-judge-model input").first.fill("judge")
        page.locator("#evaluation-start").click()
        page.locator("#evaluation-result").get_by_text("Win rate").wait_for(timeout=EVALUATION_TIMEOUT_MS)
        result = page.locator("#evaluation-result").inner_text()
        assert "95% CI" in result and f"over {len(PROMPTS)} prompts" in result
        assert "Completed" in page.locator("#evaluation-status").inner_text()
        page.locator("#evaluation-verdicts").get_by_text("a bias test prompt").wait_for()
        screenshot(page, "evaluation-win-rate", 500)
