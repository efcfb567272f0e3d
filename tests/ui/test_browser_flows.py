"""End to end: the real app in a subprocess, driven through Chromium like a user would.

Upload the demo dataset, create an experiment from it through the dialog (an invalid value
first, then a YAML override), watch it complete with a chart, copy it, then search, sort,
toggle a column and bulk-delete. Screenshots of every page land in
test-artifacts/screenshots/ (and a failure.png when a step fails).
"""
from __future__ import annotations

import re

import pytest

from tests.ui.browser_app import (
    BROWSER_TEST, ROOT, current_yaml, menu_action, registered_backbone, run_pids, running_app, screenshot,
    screenshot_on_failure, type_yaml,
)

DEMO_CSV = ROOT / "assets" / "data" / "demo_instructions.csv"

pytestmark = BROWSER_TEST


@pytest.fixture()
def app_url(tmp_path, tiny_llama_dir):
    home = tmp_path / "studio_home"
    home.mkdir()
    (home / "models.yaml").write_text(f"models:\n  - {{id: '{tiny_llama_dir}', family: Tiny test Llama}}\n")
    # Runs still training belong to this test: their process groups end with the app.
    with running_app(home, tmp_path / "app.log", run_pids) as url:
        yield url


def shot(page, name: str) -> None:
    screenshot(page, name, settle_ms=600)


def test_user_trains_copies_and_manages_experiments(page):
    with screenshot_on_failure(page, "failure"):
        _flow(page)


def _flow(page):
    base = page.base
    # Home
    page.goto(base + "/")
    page.wait_for_selector("#card-datasets")
    shot(page, "01-home")

    # Datasets: upload the demo CSV, open it, start a new experiment from it
    page.goto(base + "/?view=datasets")
    page.locator("#dataset-upload input[type=file]").set_input_files(str(DEMO_CSV))
    page.wait_for_function("document.querySelector('#dataset-name input, #dataset-name textarea')?.value.length > 0")
    page.click("#dataset-import")
    page.wait_for_selector("#dataset-upload-message:has-text('Imported')")
    page.locator("#datasets-table [role=gridcell]", has_text="demo_instructions").first.click()
    page.wait_for_selector("#dataset-preview [role=gridcell]")
    shot(page, "02-datasets")
    page.click("#dataset-new-experiment")
    page.wait_for_url(re.compile(r".*\?view=experiments&new=1&dataset=\w+"))
    page.wait_for_selector("#new-experiment-dialog #advanced-yaml")
    page.wait_for_function("document.querySelector('#advanced-yaml .cm-content')?.innerText.includes('train_dataset_id')")
    dataset_line = next(line for line in current_yaml(page).splitlines() if "train_dataset_id" in line)

    # An invalid value shows the field-path error and blocks Start Training
    rate = page.locator("#field-training-learning_rate input")
    rate.fill("-1")
    rate.dispatch_event("input")
    page.wait_for_selector("#config-errors:has-text('training.learning_rate')")
    assert page.locator("#start-training").is_disabled()
    assert "learning_rate: -1" in current_yaml(page)
    shot(page, "03-new-experiment-invalid")

    # A YAML override (also the fix) fills the form back and clears the error
    backbone = registered_backbone(page, "tiny-llama")
    page.wait_for_timeout(500)
    type_yaml(page, "\n".join([
        "experiment_name: e2e-tiny",
        "llm_backbone: " + backbone,
        "dataset:",
        "  " + dataset_line.strip(),
        "  data_sample: 0.4",
        "tokenizer:",
        "  max_length: 64",
        "training:",
        "  batch_size: 8",
        "  learning_rate: 0.001",
        "  evaluation_epochs: 0.5",
        "prediction:",
        "  max_length_inference: 8",
        "environment:",
        "  seed: 7",
        "",
    ]))
    page.wait_for_selector("#config-errors:has-text('valid')")
    assert page.locator("#field-training-learning_rate input").input_value() == "0.001"
    assert page.locator("#field-experiment_name input, #field-experiment_name textarea").first.input_value() == "e2e-tiny"
    shot(page, "04-new-experiment-valid")
    page.click("#start-training")

    # Detail view: live status until Completed, chart with points
    page.wait_for_url(re.compile(r".*\?view=experiment&id=\w+"))
    first_url = page.url
    page.wait_for_selector("#status-badge:has-text('Completed')", timeout=240_000)
    page.wait_for_function("document.querySelectorAll('#metrics-chart .scatterlayer .trace').length >= 2")
    points = page.locator("#metrics-chart .scatterlayer .trace path.js-line").count()
    assert points >= 2
    page.locator("#resources").click()
    shot(page, "05-experiment-detail")
    page.get_by_role("tab", name="Configuration").click()
    page.wait_for_selector("#resolved-config:has-text('padding_side')")  # the engine's resolved config
    page.get_by_role("tab", name="Training logs").click()
    page.wait_for_function("document.querySelector('#train-log textarea')?.value.includes('run completed')")
    shot(page, "06-experiment-logs")

    # Copy: the dialog opens pre-filled; the new run is connected as a copy
    menu_action(page, "action-copy")
    page.wait_for_url(re.compile(r".*\?view=experiments&copy=\w+"))
    page.wait_for_function("document.querySelector('#advanced-yaml .cm-content')?.innerText.includes('e2e-tiny-copy')")
    shot(page, "07-copy-dialog")
    page.click("#start-training")
    page.wait_for_function(f"window.location.href !== {first_url!r} && window.location.href.includes('view=experiment&id=')")
    page.get_by_role("tab", name="Connected experiments").click()
    page.wait_for_selector("#connected-experiments [role=gridcell]:has-text('copy')")
    page.wait_for_selector("#connected-experiments [role=gridcell]:has-text('e2e-tiny')")
    shot(page, "08-connected")

    # The list: search, sort, column toggle, then bulk delete in edit mode
    page.goto(base + "/?view=experiments")
    page.wait_for_selector("#experiments-table [role=gridcell]:has-text('e2e-tiny-copy')")
    search = page.locator("#experiment-search input, #experiment-search textarea").first
    search.fill("copy")
    page.wait_for_function("!Array.from(document.querySelectorAll('#experiments-table [role=gridcell]'))"
                           ".some(td => td.innerText.trim() === 'e2e-tiny')")
    search.fill("")
    search.dispatch_event("input")
    page.wait_for_function("Array.from(document.querySelectorAll('#experiments-table [role=gridcell]'))"
                           ".some(td => td.innerText.trim() === 'e2e-tiny')")
    page.locator("#experiment-sort input").click()
    page.get_by_role("option", name="Status").click()
    page.click("#column-toggle")
    page.locator("#column-choices label", has_text="Backbone").click()
    page.wait_for_function("!Array.from(document.querySelectorAll('#experiments-table [role=columnheader]'))"
                           ".some(th => th.innerText.includes('Backbone'))")
    shot(page, "09-experiments-list")
    page.click("#edit-experiments")
    page.wait_for_selector("#delete-selected")
    boxes = page.locator("#experiments-table [role=gridcell] input[type=checkbox]")
    page.wait_for_function("document.querySelectorAll('#experiments-table [role=gridcell] input[type=checkbox]').length >= 2")
    for i in range(boxes.count()):
        boxes.nth(i).check()
    shot(page, "10-edit-mode")
    page.click("#delete-selected")
    page.wait_for_selector("#confirm-delete:has-text('Delete 2 experiments')")
    page.click("#confirm-delete-yes")
    page.wait_for_selector("#page-label:has-text('No experiments')")
    shot(page, "11-after-delete")

    # Settings: the price is kept, the token is stored but only ever shown masked
    page.goto(base + "/?view=settings")
    page.wait_for_function("document.querySelector('#setting-hf-token input')?.placeholder === 'not set'")  # loaded
    page.locator("#setting-price input").fill("2.5")
    page.locator("#setting-hf-token input").fill("hf_abcdefghijklmnopqrstuvwxyz1234")
    page.click("#settings-save")
    page.wait_for_selector("#settings-message:has-text('Saved')")
    page.wait_for_function("document.querySelector('#setting-hf-token input')?.placeholder === 'stored: hf_…1234'")
    assert page.locator("#setting-hf-token input").input_value() == ""
    page.reload()
    page.wait_for_function("document.querySelector('#setting-price input')?.value === '2.5'")
    shot(page, "12-settings")
