"""End to end in Chromium: a DPO experiment from the demo preference dataset, made in the New Experiment dialog.

Import ``assets/data/demo_preferences.csv`` on the Datasets page, press New experiment: the
dialog guesses Preference tuning (DPO) and the prompt / chosen / rejected columns and shows the
preference fields (rejected column, loss, beta). A tiny local Llama trains it to Completed, and
the experiment's chart shows the reward margin on the right axis by default.
Screenshots: test-artifacts/screenshots/dpo-*.png.
"""
from __future__ import annotations

import re

import pytest

from tests.ui.browser_app import (
    BROWSER_TEST, ROOT, current_yaml, registered_backbone, run_pids, running_app, screenshot, screenshot_on_failure,
    type_yaml,
)

DEMO_PAIRS = ROOT / "assets" / "data" / "demo_preferences.csv"
RUN_TIMEOUT_MS = 300_000  # policy and reference passes on a loaded 2-core machine

pytestmark = BROWSER_TEST


@pytest.fixture()
def app_url(tmp_path, tiny_llama_dir):
    home = tmp_path / "studio_home"
    home.mkdir()
    (home / "models.yaml").write_text(f"models:\n  - {{id: '{tiny_llama_dir}', family: Tiny test Llama}}\n")
    with running_app(home, tmp_path / "app.log", run_pids) as url:  # a run still training belongs to this test
        yield url


def field_value(page, field_id: str) -> str:
    return page.locator(f"#{field_id} input, #{field_id} textarea").first.input_value()


def test_user_trains_a_dpo_experiment_from_the_demo_pairs_and_reads_its_reward_margin(page):
    with screenshot_on_failure(page, "dpo-failure"):
        base = page.base
        page.goto(base + "/?view=datasets")
        page.locator("#dataset-upload input[type=file]").set_input_files(str(DEMO_PAIRS))
        page.wait_for_function("document.querySelector('#dataset-name input, #dataset-name textarea')?.value.length")  # the upload, then the name event, on a loaded machine
        page.click("#dataset-import")
        page.wait_for_selector("#dataset-upload-message:has-text('Imported')")
        page.locator("#datasets-table [role=gridcell]", has_text="demo_preferences").first.click()
        page.wait_for_selector("#dataset-preview [role=gridcell]")
        page.click("#dataset-new-experiment")
        page.wait_for_url(re.compile(r".*\?view=experiments&new=1&dataset=\w+"))
        page.wait_for_selector("#new-experiment-dialog #advanced-yaml")

        # The import's guesses: the problem type and the three columns; the preference fields show.
        page.wait_for_function("document.querySelector('#field-problem_type input')?.value"
                               " === 'Preference tuning (DPO)'")
        assert "problem_type: text_dpo_modeling" in current_yaml(page)
        assert field_value(page, "field-dataset-input_column") == "prompt"
        assert "chosen" in page.locator("#field-dataset-output_column").inner_text()  # a multiselect: a chip
        assert field_value(page, "field-dataset-rejected_output_column") == "rejected"
        assert page.locator("#field-training-beta").is_visible()
        page.locator("#field-training-loss_function input").click()  # this type's losses, nothing else
        options = [o.strip() for o in page.get_by_role("option").all_inner_texts()]
        assert {"DPOLoss", "IPOLoss", "HingeLoss", "SimPOLoss", "ORPOLoss"} <= set(options)
        assert "TokenAveragedCrossEntropy" not in options
        page.get_by_role("option", name="SimPOLoss").click()  # its own parameter appears
        page.wait_for_selector("#field-training-simpo_gamma", state="visible")
        assert "loss_function: SimPOLoss" in current_yaml(page)
        screenshot(page, "dpo-01-dialog", 400)

        dataset_line = next(line for line in current_yaml(page).splitlines() if "train_dataset_id" in line)
        backbone = registered_backbone(page, "tiny-llama")
        page.wait_for_timeout(300)
        type_yaml(page, "\n".join([
            "experiment_name: pairs-dpo",
            "problem_type: text_dpo_modeling",
            "llm_backbone: " + backbone,
            "dataset:",
            "  " + dataset_line.strip(),
            "  input_column: prompt",
            "  output_column: chosen",
            "  rejected_output_column: rejected",
            "  data_sample: 0.2",
            "tokenizer:",
            "  max_length: 48",
            "training:",
            "  loss_function: DPOLoss",
            "  beta: 0.1",
            "  batch_size: 8",
            "  learning_rate: 0.003",
            "  epochs: 1",
            "  evaluation_epochs: 1",
            "  lora_rank: 8",
            "prediction:",
            "  max_length_inference: 4",
            "environment:",
            "  seed: 7",
            "",
        ]))
        page.wait_for_selector("#config-errors:has-text('valid')")
        page.wait_for_function(
            "document.querySelector('#field-experiment_name input, #field-experiment_name textarea')"
            "?.value === 'pairs-dpo'")
        page.click("#start-training")

        # The detail view: Completed, reward margin on the chart's right axis by default.
        page.wait_for_url(re.compile(r".*\?view=experiment&id=\w+"))
        page.wait_for_selector("#status-badge:has-text('Completed')", timeout=RUN_TIMEOUT_MS)
        page.wait_for_selector("#metrics-chart .legend:has-text('Validation Reward margin')")
        assert page.locator("#chart-metrics label:has(input:checked)").inner_text().strip() == "Reward margin"
        assert "Reward margin" in page.locator("#status-bar").inner_text()
        screenshot(page, "dpo-02-detail-chart", 600)
