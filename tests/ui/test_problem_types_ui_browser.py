"""End to end in Chromium: an image classification experiment made through the dialog, trained,
watched and inspected with its prediction thumbnails.

Upload the colour-squares demo, open New Experiment from the Experiments page and pick the
dataset (its guesses fill the type and columns), look at the object detection note, train a
tiny local ViT, then check the Accuracy chart and that each thumbnail shows the colour its
caption says is true. Screenshots: test-artifacts/screenshots/types-*.png.
"""
from __future__ import annotations

import base64
import io
import re

import pytest

from tests.ui.browser_app import (
    BROWSER_TEST, ROOT, current_yaml, run_pids, running_app, screenshot, screenshot_on_failure, type_yaml,
)

DEMO_IMAGES = ROOT / "assets" / "data" / "demo_colors_images.parquet"
# The demo's square colours (assets/data/make_image_demo_data.py), told apart by their strongest channel.
CHANNEL_OF = {"red": 0, "green": 1, "blue": 2}

pytestmark = BROWSER_TEST


@pytest.fixture()
def app_url(tmp_path, tiny_vit_dir):
    home = tmp_path / "studio_home"
    home.mkdir()
    (home / "models.yaml").write_text(
        f"models:\n  - {{id: '{tiny_vit_dir}', family: Tiny test ViT, problem_types: [image_classification]}}\n")
    with running_app(home, tmp_path / "app.log", run_pids) as url:  # a run still training belongs to this test
        yield url


def shot(page, name: str) -> None:
    screenshot(page, f"types-{name}", settle_ms=400)


def pick(page, field_id: str, option: str | re.Pattern) -> None:
    page.locator(f"#{field_id} input").click()
    page.get_by_role("option", name=option).first.click()


def square_colour(data_uri: str) -> str:
    """The colour name of the demo square in a thumbnail: the channel that dominates its saturated pixels."""
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1]))).convert("RGB")
    saturated = [p for p in image.getdata() if max(p) - min(p) > 80]
    assert saturated, "the thumbnail shows no coloured square"
    sums = [sum(p[c] for p in saturated) for c in range(3)]
    return next(name for name, channel in CHANNEL_OF.items() if sums[channel] == max(sums))


def test_user_trains_an_image_classifier_and_inspects_its_predictions(page):
    with screenshot_on_failure(page, "types-failure"):
        _flow(page)


def _flow(page):
    base = page.base
    page.goto(base + "/?view=datasets")
    page.locator("#dataset-upload input[type=file]").set_input_files(str(DEMO_IMAGES))
    page.wait_for_function("document.querySelector('#dataset-name input, #dataset-name textarea')?.value.length > 0")
    page.click("#dataset-import")
    page.wait_for_selector("#dataset-upload-message:has-text('Imported')")

    # New Experiment from the list; picking the dataset fills the type and the image column.
    page.goto(base + "/?view=experiments")
    page.click("#new-experiment")
    page.wait_for_selector("#new-experiment-dialog #advanced-yaml")
    pick(page, "field-dataset-train_dataset_id", "demo_colors_images")
    page.wait_for_function("document.querySelector('#field-problem_type input')?.value === 'Image Classification'")
    page.wait_for_function("document.querySelector('#field-dataset-num_classes input')?.placeholder"
                           " === 'auto: 3 classes detected (distinct labels)'")
    assert page.locator("#field-training-image_augmentation_pipeline").is_visible()
    assert page.locator("#field-training-use_mixup").is_visible()
    assert page.locator("#field-dataset-image_column").is_visible()
    assert not page.locator("#field-dataset-input_column").is_visible()
    assert "problem_type: image_classification" in current_yaml(page)
    # The default LLM does not fit images: the first registered image model replaces it.
    assert page.locator("#field-llm_backbone input").input_value() == "google/vit-base-patch16-224"
    shot(page, "01-dialog-image-classification")

    # Object detection: image column stays, augmentation goes, the experimental note shows.
    pick(page, "field-problem_type", re.compile(r"Object Detection"))
    page.wait_for_selector("#problem-type-note:has-text('cannot be deployed')")
    assert not page.locator("#field-training-image_augmentation_pipeline").is_visible()
    assert page.locator("#field-dataset-image_column").is_visible()
    page.locator("#field-prediction-metrics input").click()
    options = [o.strip() for o in page.get_by_role("option").all_inner_texts()]
    assert {"mAP", "mAP@50", "mAP@75", "mAR"} <= set(options) and "Accuracy" not in options
    page.keyboard.press("Escape")
    assert page.locator("#field-llm_backbone input").input_value() == "facebook/detr-resnet-50"
    page.locator("#problem-type-note").scroll_into_view_if_needed()
    shot(page, "02-dialog-object-detection")

    # Back to image classification with the tiny ViT, set through the Advanced YAML.
    pick(page, "field-problem_type", re.compile(r"Image Classification"))
    page.wait_for_selector("#problem-type-note", state="hidden")
    dataset_line = next(line for line in current_yaml(page).splitlines() if "train_dataset_id" in line)
    page.locator("#field-llm_backbone input").click()
    # The selected option carries a check mark line before its text: the id is the last line.
    option_text = page.get_by_role("option", name=re.compile("tiny-vit")).first.inner_text()
    backbone = option_text.strip().splitlines()[-1].strip()
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    type_yaml(page, "\n".join([
        "experiment_name: colours-vit",
        "problem_type: image_classification",
        "llm_backbone: " + backbone,
        "dataset:",
        "  " + dataset_line.strip(),
        "training:",
        "  batch_size: 8",
        "  learning_rate: 0.01",
        "  epochs: 2",
        "  evaluation_epochs: 1",
        "prediction:",
        "  metrics: [Accuracy, AUC]",
        "environment:",
        "  seed: 7",
        "",
    ]))
    page.wait_for_selector("#config-errors:has-text('valid')")
    # The form must show the typed YAML before Start reads it (the editor syncs asynchronously).
    page.wait_for_function(
        "document.querySelector('#field-experiment_name input, #field-experiment_name textarea')"
        "?.value === 'colours-vit'")
    assert page.locator("#field-training-batch_size input").input_value() == "8"
    page.click("#start-training")

    # Watch it: Completed, Accuracy on the chart's right axis by default.
    page.wait_for_url(re.compile(r".*\?view=experiment&id=\w+"))
    page.wait_for_selector("#status-badge:has-text('Completed')", timeout=180_000)
    page.wait_for_selector("#status-bar:has-text('Accuracy')")
    page.wait_for_selector("#metrics-chart .legend:has-text('Validation Accuracy')")
    assert page.locator("#chart-metrics input[type=checkbox]:checked").count() == 1
    assert page.locator("#chart-metrics label:has(input:checked)").inner_text().strip() == "Accuracy"
    shot(page, "03-detail-chart")

    # Inspect: one thumbnail per validation row (20% of 120), each showing the colour its caption says is true.
    page.get_by_role("tab", name="Validation predictions").click()
    page.wait_for_function("document.querySelectorAll('#prediction-gallery figure img').length === 24")
    figures = page.locator("#prediction-gallery figure")
    for i in range(figures.count()):
        text = figures.nth(i).locator("figcaption").inner_text()
        match = re.match(r"true: (\w+) / predicted: (\w+) \((\d\.\d\d)\)", text)
        assert match, text
        assert square_colour(figures.nth(i).locator("img").get_attribute("src")) == match.group(1)
    page.wait_for_selector("#predictions [role=gridcell]")
    shot(page, "04-detail-predictions")
