"""End to end: switch on AutoML in the New Experiment dialog, start a 2-trial study of the tiny Llama,
and watch its page fill: the trials table, the optimisation history, the best trial's "Use these
settings"; the Studies page lists it. Screenshot: test-artifacts/screenshots/study.png."""
from __future__ import annotations

import random
import re

import pandas as pd
import pytest

from tests.ui.browser_app import BROWSER_TEST, run_pids, running_app, screenshot, screenshot_on_failure, type_yaml

pytestmark = BROWSER_TEST
WORDS = ["cat", "dog", "sun", "red", "blue", "tree", "fish", "moon"]


@pytest.fixture()
def app_url(tmp_path, tiny_llama_dir):
    from studio.store import Store
    from studio.store.database import forget_database

    home = tmp_path / "home"
    rng = random.Random(0)
    rows = [{"input": f"repeat: {w}", "output": w}
            for w in (" ".join(rng.choice(WORDS) for _ in range(2)) for _ in range(32))]
    Store(home).datasets.add({"id": "toyrepeat", "name": "toy repeat", "rows": len(rows)})
    (home / "datasets" / "toyrepeat").mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(home / "datasets" / "toyrepeat" / "data.parquet")
    (home / "models.yaml").write_text(f"models:\n  - {{id: '{tiny_llama_dir}', family: Tiny test Llama}}\n")
    forget_database(home / "db.json")
    with running_app(home, tmp_path / "app.log", run_pids) as url:
        url_and_model = url, str(tiny_llama_dir)
        yield url_and_model


@pytest.fixture()
def page(app_url):
    from tests.ui.browser_app import chromium_page

    with chromium_page(app_url[0]) as tab:
        tab.model = app_url[1]
        yield tab


def _fill(page, elem_id: str, text: str) -> None:
    page.locator(f"#{elem_id} textarea, #{elem_id} input").first.fill(text)


def test_create_a_study_and_its_page_shows_trials_and_the_optimisation_history(page):
    with screenshot_on_failure(page, "study-failure"):
        page.goto(f"{page.base}/?view=experiments&new=1&dataset=toyrepeat")
        page.wait_for_selector("#new-experiment-dialog #advanced-yaml", timeout=90_000)
        page.wait_for_function("document.querySelector('#advanced-yaml .cm-content')?.innerText"
                               ".includes('train_dataset_id')")
        type_yaml(page, "\n".join([
            "experiment_name: e2e-study", f"llm_backbone: {page.model}",
            "dataset:", "  train_dataset_id: toyrepeat",
            "tokenizer:", "  max_length: 32",
            "training:", "  batch_size: 4", "  evaluation_epochs: 0.5",
            "prediction:", "  metrics: [Perplexity]", "  max_length_inference: 4", ""]))
        page.wait_for_selector("#config-errors:has-text('valid')", timeout=90_000)
        # The YAML has reached the form (the dialog was already valid before it was typed).
        page.wait_for_function("document.querySelector('#field-experiment_name input, #field-experiment_name "
                               "textarea')?.value === 'e2e-study'", timeout=90_000)
        page.locator("#automl-switch input[type=checkbox]").check()
        page.wait_for_selector("#automl-study-settings", state="visible", timeout=90_000)
        page.wait_for_selector("#start-training:has-text('Start AutoML study')", timeout=90_000)
        _fill(page, "study-max-trials", "2")
        _fill(page, "study-search-epochs", "1")
        _fill(page, "study-search-lora-rank", "4, 8")
        _fill(page, "study-search-warmup-epochs", "")
        page.click("#start-training")

        page.wait_for_url(re.compile(r".*\?view=study&study=\w+"), timeout=90_000)
        page.wait_for_selector("#study-header:has-text('e2e-study')")
        page.wait_for_selector("#study-header:has-text('minimize')")
        page.wait_for_selector("#study-trials:has-text('e2e-study-trial-0')", timeout=90_000)
        page.wait_for_selector("#study-header:has-text('Completed')", timeout=420_000)
        page.wait_for_selector("#study-trials:has-text('e2e-study-trial-1')")
        assert page.locator("#study-trials").inner_text().count("Completed") == 2
        page.wait_for_selector("#study-chart-history:has-text('Objective Value')")
        page.wait_for_selector("#study-best:has-text('Best trial')")
        screenshot(page, "study", 800)

        page.reload()  # the address holds the study
        page.wait_for_selector("#study-trials:has-text('e2e-study-trial-1')", timeout=90_000)
        page.click("#study-use-best")
        page.wait_for_url(re.compile(r".*\?view=experiments&copy=\w+"))
        page.wait_for_function("document.querySelector('#advanced-yaml .cm-content')?.innerText.includes('learning_rate')")

        page.goto(f"{page.base}/?view=studies")
        page.wait_for_selector("#studies-table:has-text('e2e-study')", timeout=90_000)
        page.locator("#studies-table [role=gridcell]", has_text="e2e-study").first.click()
        page.wait_for_url(re.compile(r".*\?view=study&study=\w+"))
        page.locator("#study-trials [role=gridcell]", has_text="e2e-study-trial-0").first.click()
        page.wait_for_url(re.compile(r".*\?view=experiment&id=\w+"))
        page.wait_for_selector("#experiment-header:has-text('trial 0 of its AutoML study')")
