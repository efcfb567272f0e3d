"""The UI pieces that make every problem type usable: dialog fields per type, dataset guesses,
class-count hints, prediction thumbnails (boxes drawn for detection), the chart's default metric
and the live connected-experiments table. No browser, no training."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from studio.config import from_dict
from studio.config.problem_types import (CAUSAL_LM, CLASSIFICATION_LM, DPO, IMAGE_CLASSIFICATION, LOSS_FUNCTIONS,
                                         METRICS, MULTIMODAL, OBJECT_DETECTION, PROBLEM_TYPES)
from studio.datasets import import_dataset
from studio.runner.supervisor import Supervisor
from studio.services.context import ChangeFeed
from studio.services.experiments import ExperimentService
from studio.store import Store
from studio.ui import config_form as form
from studio.ui import experiment_detail
from studio.ui import prediction_view
from studio.ui.class_count import count_classes, num_classes_hint
from studio.ui.metrics_chart import build_figure, default_choice
from studio.ui.prediction_gallery import (MAX_THUMBNAILS, PREDICTED_COLOUR, THUMB_PX, TRUE_COLOUR, Box, caption,
                                          gallery_html, parse_boxes, render_thumbnail, thumbnail_uri)
from studio.services.prediction_images import image_bytes, read_images, validation_table

DATA = Path(__file__).resolve().parents[2] / "assets" / "data"
IMAGE_ONLY = {"training.image_augmentation_pipeline", "training.image_resolution", "training.use_mixup",
              "training.use_cutmix"}


def _png(colour=(200, 30, 30), size=(32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _shown(problem_type: str) -> set[str]:
    data = {"problem_type": problem_type}
    return {f.path for f in form.dialog_fields() if form.visible(f, data)}


# ---------------------------------------------------------------------- dialog fields per type
@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_dialog_shows_exactly_the_fields_of_each_problem_type(problem_type):
    shown = _shown(problem_type)
    assert (IMAGE_ONLY <= shown) == (problem_type == IMAGE_CLASSIFICATION)
    assert not (IMAGE_ONLY & shown) or problem_type == IMAGE_CLASSIFICATION
    assert ("dataset.image_column" in shown) == (problem_type in (IMAGE_CLASSIFICATION, MULTIMODAL, OBJECT_DETECTION))
    assert ("dataset.input_column" in shown) == (problem_type in (CAUSAL_LM, CLASSIFICATION_LM, MULTIMODAL, DPO))
    assert ("dataset.rejected_output_column" in shown) == (problem_type == DPO)
    assert ("training.beta" in shown) == (problem_type == DPO)
    assert ("dataset.num_classes" in shown) == (problem_type in (CLASSIFICATION_LM, IMAGE_CLASSIFICATION,
                                                                  OBJECT_DETECTION))
    assert ("prediction.llm_judge_prompt_template" in shown) is False  # only once LLM-as-a-Judge is chosen
    assert form.metric_choices({"problem_type": problem_type}) == METRICS[problem_type]
    assert "training.loss_function" in shown
    assert form.loss_choices({"problem_type": problem_type}) == [form.NULL_CHOICE] + LOSS_FUNCTIONS[problem_type]


def test_switching_type_keeps_only_the_metrics_and_loss_the_new_type_offers():
    data = {"problem_type": OBJECT_DETECTION, "prediction": {"metrics": ["Accuracy", "mAP"]},
            "training": {"loss_function": "DPOLoss"}}
    assert form.drop_foreign_choices(data)["prediction"]["metrics"] == ["mAP"]
    assert "training" not in form.drop_foreign_choices(data)
    kept = {"problem_type": DPO, "training": {"loss_function": "SimPOLoss"}}
    assert form.drop_foreign_choices(kept) == kept
    assert "prediction" not in form.drop_foreign_choices({"problem_type": OBJECT_DETECTION,
                                                          "prediction": {"metrics": ["BLEU"]}})


# ---------------------------------------------------------------------- dataset guesses
def test_choosing_a_dataset_fills_its_guessed_columns_and_type_but_keeps_the_users_choices():
    guesses = {"problem_type": CLASSIFICATION_LM, "input_column": "text", "output_column": "label"}
    fresh = form.apply_suggestions({"dataset": {"train_dataset_id": "d1", "system_column": "system"}},
                                   guesses, ["text", "label"])
    assert fresh == {"problem_type": CLASSIFICATION_LM,
                     "dataset": {"train_dataset_id": "d1", "input_column": "text", "output_column": "label"}}
    assert list(fresh)[0] == "problem_type"  # first in the YAML, like the dialog's order
    # A type the user picked, and a column of the dataset they picked, stay.
    settled = {"problem_type": CAUSAL_LM, "dataset": {"train_dataset_id": "d1", "input_column": "prompt"}}
    kept = form.apply_suggestions(settled, guesses, ["prompt", "text", "label"])
    assert kept["problem_type"] == CAUSAL_LM and kept["dataset"]["input_column"] == "prompt"
    assert kept["dataset"]["output_column"] == "label"  # the default "output" is not a column here


def test_a_registered_model_of_another_type_gives_way_to_one_that_fits():
    registered = {"h2oai/h2o-danube3-500m-chat", "google/vit-base-patch16-224", "/models/tiny-vit"}
    fitting = ["google/vit-base-patch16-224", "/models/tiny-vit"]
    data = form.fit_backbone({"problem_type": IMAGE_CLASSIFICATION}, fitting, registered)  # default LLM
    assert data["llm_backbone"] == "google/vit-base-patch16-224"
    chosen = {"problem_type": IMAGE_CLASSIFICATION, "llm_backbone": "/models/tiny-vit"}
    assert form.fit_backbone(chosen, fitting, registered) == chosen
    typed = {"problem_type": IMAGE_CLASSIFICATION, "llm_backbone": "someone/own-vit"}  # not in the registry
    assert form.fit_backbone(typed, fitting, registered) == typed
    assert form.fit_backbone({}, ["h2oai/h2o-danube3-500m-chat"], registered) == {}


def test_service_reads_guesses_from_the_image_dataset_profile(studio_home):
    store = Store(studio_home)
    service = ExperimentService(store, Supervisor(store, studio_home, gpus=[]), studio_home)
    row = import_dataset(store, DATA / "demo_colors_images.parquet", "demo_colors_images.parquet", "colours")
    guesses = service.dataset_suggestions(row["id"])
    assert guesses == {"problem_type": IMAGE_CLASSIFICATION, "output_column": "output", "image_column": "image"}
    draft = form.parse_yaml(service.draft_for_dataset(row["id"]))
    assert draft["problem_type"] == IMAGE_CLASSIFICATION and draft["dataset"] == {"train_dataset_id": row["id"]}
    assert service.dataset_suggestions(None) == {} and service.dataset_suggestions("missing") == {}


# ---------------------------------------------------------------------- num_classes hint
def test_class_count_follows_the_engines_label_rules():
    assert count_classes({"label": ["b", "a", "c", "a"]}, CLASSIFICATION_LM).count == 3
    ids = count_classes({"label": [0, 4, 2]}, IMAGE_CLASSIFICATION)
    assert (ids.count, ids.how) == (5, "max class id + 1")
    assert count_classes({"label": ['["a", "c"]', '["b"]']}, CLASSIFICATION_LM).count == 3  # JSON lists
    assert count_classes({"label": [["x"], ["y", "z"]]}, CLASSIFICATION_LM).count == 3
    assert count_classes({"a": [0, 1], "b": [1, 0]}, CLASSIFICATION_LM).count == 2  # indicator columns
    boxes = [json.dumps({"bbox": [[1, 1, 2, 2]], "category": [3]}), {"bbox": [], "category": []}]
    detected = count_classes({"output": boxes}, OBJECT_DETECTION)
    assert (detected.count, detected.hint) == (4, "auto: 4 classes detected (max category + 1)")
    assert count_classes({"output": [None, float("nan")]}, CLASSIFICATION_LM) is None


def test_num_classes_hint_reads_the_chosen_dataset(studio_home):
    store = Store(studio_home)
    sentiment = import_dataset(store, DATA / "demo_sentiment.csv", "demo_sentiment.csv", "sentiment")
    boxes = import_dataset(store, DATA / "demo_boxes_detection.parquet", "boxes.parquet", "boxes")
    assert num_classes_hint(studio_home, sentiment["id"], "label", CLASSIFICATION_LM) == \
        "auto: 3 classes detected (distinct labels)"
    categories = {c for a in pd.read_parquet(DATA / "demo_boxes_detection.parquet")["output"]
                  for c in json.loads(a)["category"]}
    assert num_classes_hint(studio_home, boxes["id"], "output", OBJECT_DETECTION) == \
        f"auto: {max(categories) + 1} classes detected (max category + 1)"
    assert num_classes_hint(studio_home, sentiment["id"], "label", CAUSAL_LM) is None  # no such field there
    assert num_classes_hint(studio_home, sentiment["id"], "no_such_column", CLASSIFICATION_LM) is None


# ---------------------------------------------------------------------- thumbnails
def test_detection_thumbnail_draws_true_boxes_green_and_predicted_red():
    image = render_thumbnail(_png((240, 240, 240), (40, 20)), [Box(0, 0, 10, 10)], [Box(20, 5, 10, 10, 0, 0.9)])
    scale = THUMB_PX / 40
    assert image.size == (THUMB_PX, round(20 * scale))  # enlarged to fit, aspect kept
    assert image.getpixel((round(5 * scale), 0)) == TRUE_COLOUR  # top edge of the true box
    assert image.getpixel((round(30 * scale) - 1, round(10 * scale))) == PREDICTED_COLOUR  # right edge, predicted
    assert image.getpixel((round(15 * scale), round(15 * scale))) == (240, 240, 240)  # between: untouched


def test_thumbnail_is_a_small_jpeg_data_uri_or_none_for_unreadable_bytes():
    uri = thumbnail_uri(_png(size=(640, 480)))
    assert uri.startswith("data:image/jpeg;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert max(decoded.size) == THUMB_PX and len(uri) < 8000
    assert thumbnail_uri(b"not an image") is None and thumbnail_uri(None) is None


def test_captions_say_truth_prediction_and_its_probability():
    record = {"row": 3, "target": "red", "prediction": "red", "probability_red": 0.931, "probability_blue": 0.069}
    assert caption(record, IMAGE_CLASSIFICATION) == ("true: red / predicted: red (0.93)", True)
    assert caption({"target": "red", "prediction": "blue"}, IMAGE_CLASSIFICATION) == \
        ("true: red / predicted: blue", False)
    detection = {"target": json.dumps({"bbox": [[1, 2, 3, 4]], "category": [1]}),
                 "prediction": json.dumps({"bbox": [[1, 2, 3, 4], [0, 0, 5, 5]], "category": [1, 0],
                                           "score": [0.81, 0.55]})}
    assert caption(detection, OBJECT_DETECTION) == ("true: 1 box [1] / predicted: 2 boxes [0, 1] (best 0.81)", None)
    assert parse_boxes(detection["prediction"])[1] == Box(0, 0, 5, 5, 0, 0.55)
    assert parse_boxes("not json") == [] and parse_boxes({"bbox": [[1, 2]], "category": [0]}) == []


def test_gallery_shows_at_most_the_limit_marks_right_and_wrong_and_survives_missing_images():
    frame = pd.DataFrame({"row": range(1, 61), "target": ["red"] * 60, "prediction": ["red", "blue"] * 30})
    images = {row: _png() for row in range(1, 61) if row != 2}
    page = gallery_html(frame, images, IMAGE_CLASSIFICATION)
    assert page.count("<figure") == MAX_THUMBNAILS and f"First {MAX_THUMBNAILS} of 60" in page
    assert page.count("class='prediction right'") == MAX_THUMBNAILS // 2
    assert page.count("<img src='data:image/jpeg;base64,") == MAX_THUMBNAILS - 1
    assert "image unavailable" in page and "data-row='2'" in page
    assert gallery_html(frame.drop(columns=["row"]), images, IMAGE_CLASSIFICATION) == ""


# ---------------------------------------------------------------------- images behind the predictions
def test_validation_rows_come_from_train_data_or_the_custom_validation_set(tmp_path):
    automatic = from_dict({"dataset": {"train_dataset_id": "aaa", "validation_dataset_id": "bbb"}})
    custom = from_dict({"dataset": {"train_dataset_id": "aaa", "validation_strategy": "custom",
                                    "validation_dataset_id": "bbb"}})
    assert validation_table(automatic, tmp_path).file == tmp_path.resolve() / "datasets/aaa/data.parquet"
    assert validation_table(custom, tmp_path).root == tmp_path.resolve() / "datasets/bbb"
    cli = from_dict({"dataset": {"train_dataframe": str(tmp_path / "t.parquet")}})
    assert validation_table(cli, tmp_path).file == tmp_path / "t.parquet"


def test_read_images_picks_rows_counted_from_one_across_row_groups(tmp_path):
    colours = [(i * 20, 0, 0) for i in range(10)]
    table = pa.table({"image": [_png(c, (4, 4)) for c in colours], "output": [str(i) for i in range(10)]})
    pq.write_table(table, tmp_path / "data.parquet", row_group_size=3)
    source = validation_table(from_dict({"dataset": {"train_dataframe": str(tmp_path / "data.parquet")}}))
    images = read_images(source, "image", [1, 5, 10, 11])
    assert sorted(images) == [1, 5, 10]  # row 11 does not exist
    for row in (1, 5, 10):
        assert Image.open(io.BytesIO(images[row])).convert("RGB").getpixel((0, 0)) == colours[row - 1]
    assert read_images(source, "no_such_column", [1]) == {}


def test_image_cells_decode_like_the_engine_reads_them(tmp_path):
    png = _png()
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "a.png").write_bytes(png)
    (tmp_path.parent / "outside.png").write_bytes(png)
    encoded = base64.b64encode(png).decode()
    assert image_bytes(png) == png and image_bytes({"bytes": png, "path": None}) == png
    assert image_bytes("data:image/png;base64," + encoded) == png and image_bytes(encoded) == png
    assert image_bytes("pics/a.png", tmp_path) == png
    assert image_bytes("../outside.png", tmp_path) is None  # paths never leave the dataset folder
    assert image_bytes(None) is None and image_bytes(3.5) is None


# ---------------------------------------------------------------------- chart
def test_chart_starts_on_the_types_first_selected_metric():
    names = ["Accuracy", "AUC", "LogLoss"]
    assert default_choice(names, ["LogLoss", "Accuracy"]) == ["LogLoss"]
    assert default_choice(names, ["MAP@3"]) == ["Accuracy"]  # not reported: the first reported one
    assert default_choice(["Perplexity", "BLEU"], None) == ["Perplexity"]
    assert default_choice(["mAP@50", "mAP"], ["mAP", "mAP@50"]) == ["mAP"]
    records = [{"step": s, "split": "validation", "name": n, "value": v}
               for s, n, v in ((0, "loss", 1.0), (0, "mAP", 0.1), (5, "loss", 0.5), (5, "mAP", 0.4))]
    figure = build_figure(records)  # no choice given: the run's own metric, not an absent Perplexity
    assert [t.name for t in figure.data] == ["Validation loss", "Validation mAP"]
    assert figure.layout.yaxis2.title.text == "mAP"


# ---------------------------------------------------------------------- detail view
@pytest.fixture()
def ctx(studio_home):
    store = Store(studio_home)
    supervisor = Supervisor(store, studio_home, gpus=[])
    changes = ChangeFeed()
    supervisor.on_change(changes.bump)
    return SimpleNamespace(home=studio_home, store=store, changes=changes,
                           experiments=ExperimentService(store, supervisor, studio_home))


def test_detail_predictions_show_thumbnails_of_the_validation_rows(ctx):
    dataset = import_dataset(ctx.store, DATA / "demo_colors_images.parquet", "colours.parquet", "colours")
    row = ctx.experiments.create({"problem_type": IMAGE_CLASSIFICATION, "llm_backbone": "tiny/vit",
                                  "dataset": {"train_dataset_id": dataset["id"], "image_column": "image"}})
    truth = pd.read_parquet(DATA / "demo_colors_images.parquet")["output"]
    rows = [113, 1, 2]
    predictions = pd.DataFrame({"row": rows, "target": [truth[r - 1] for r in rows], "prediction": ["red"] * 3,
                                "probabilities": [[0.1, 0.2, 0.7]] * 3, "probability_red": [0.7] * 3})
    path = ctx.experiments.run_dir(row["id"]) / "predictions.parquet"
    predictions.to_parquet(path)
    table, thumbnails = prediction_view.prediction_view(ctx, ctx.store.experiments.get(row["id"]), path)
    assert table["probabilities"].tolist()[0] == "0.100, 0.200, 0.700"
    assert thumbnails.count("<img src='data:image/jpeg") == 3
    assert f"true: {truth[112]} / predicted: red (0.70)" in thumbnails and "row 113" in thumbnails
    text_run = ctx.experiments.create({"dataset": {"train_dataset_id": dataset["id"]}})
    assert prediction_view.prediction_view(ctx, ctx.store.experiments.get(text_run["id"]), path)[1] == ""


def test_connected_table_redraws_only_when_the_family_changed(ctx):
    dataset = ctx.store.datasets.add({"name": "d"})
    source = ctx.experiments.create({"experiment_name": "base", "dataset": {"train_dataset_id": dataset["id"]}})
    state: dict = {}
    frame, ids = experiment_detail._connected_changes(ctx, source["id"], state)
    assert ids == [source["id"]]
    assert experiment_detail._connected_changes(ctx, source["id"], state) is None  # no change stored
    ctx.changes.bump()
    assert experiment_detail._connected_changes(ctx, source["id"], state) is None  # a change, same rows
    copy = ctx.experiments.rerun(source["id"])
    frame, ids = experiment_detail._connected_changes(ctx, source["id"], state)
    assert ids == [source["id"], copy["id"]] and "rerun" in frame["Connection"].tolist()


def test_start_refuses_when_form_and_yaml_disagree_but_not_over_explicit_defaults():
    from studio.ui import config_form as form

    typed = {"dataset": {"train_dataset_id": "d1"}, "training": {"epochs": 1, "batch_size": 8}}
    same = {"dataset": {"train_dataset_id": "d1"}, "training": {"batch_size": 8}}
    stale = {"dataset": {"train_dataset_id": "d1"}, "training": {"batch_size": 1}}
    assert form.same_settings(typed, same)  # epochs: 1 is the default, written or not
    assert not form.same_settings(typed, stale)


def test_a_preference_run_charts_its_reward_margin_first():
    from studio.config.problem_types import DEFAULT_METRICS

    reported = ["Reward accuracy", "Reward margin", "Chosen logp", "Rejected logp"]
    assert default_choice(reported, DEFAULT_METRICS[DPO]) == ["Reward margin"]


def test_a_finished_run_stays_live_while_a_connected_run_is_queued(ctx):
    """Its page lists the connected runs' statuses, so its timer must run until they end too."""
    dataset = ctx.store.datasets.add({"name": "d"})
    source = ctx.experiments.create({"experiment_name": "base", "dataset": {"train_dataset_id": dataset["id"]}})
    ctx.store.experiments.update(source["id"], status="Completed")
    assert not ctx.experiments.is_family_live(source["id"])
    copy = ctx.experiments.rerun(source["id"])  # queued
    assert ctx.experiments.is_family_live(source["id"]) and not ctx.experiments.is_live(source["id"])
    ctx.store.experiments.update(copy["id"], status="Stopped")
    assert not ctx.experiments.is_family_live(source["id"])
    assert not ctx.experiments.is_family_live("missing")
