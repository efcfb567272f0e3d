"""Object detection: annotation validation and a tiny DETR trained through the real CLI."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.engine_cli import read_status
from tests.problems.conftest import (
    assert_completed_with_all_files, demo_data_module, run_engine, validation_series, write_config,
)
from training.data import number_rows
from training.errors import DatasetError
from training.problems.object_detection import parse_split

OBJECT_DETECTION = "object_detection"


def test_every_bad_annotation_row_is_reported_in_one_error():
    frame = number_rows(pd.DataFrame({"output": [
        {"bbox": [[0, 0, 5, 5]], "category": [0]},                      # fine
        json.dumps({"bbox": [[0, 0, 5, 5], [1, 1, 2, 2]], "category": [0]}),  # lengths differ
        {"bbox": [[2, 2, -1, 4]], "category": [1]},                     # negative width
        {"bbox": [[28, 0, 10, 10]], "category": [0]},                   # outside a 32x32 image
        {"bbox": [[0, 0, 4, 4]], "category": [3]},                      # category >= num_classes
        "not json",
        {"boxes": []},
    ]}))
    with pytest.raises(DatasetError) as info:
        parse_split(frame, "output", [(32, 32)] * len(frame), "train", num_classes=2)
    message = str(info.value)
    assert message.startswith("train data, output column: 6 bad annotation(s)")
    for expected in ("row 2: 2 boxes but 1 categories", "row 3, box 0: width and height must be positive",
                     "row 4, box 0: [28, 0, 10, 10] is outside the 32x32 image",
                     "row 5, category 0: 3 is not below dataset.num_classes 2", "row 6: not valid JSON",
                     "row 7: expected a dict with 'bbox' and 'category'"):
        assert expected in message
    assert "row 1" not in message  # the first row (row 1, as the dataset importer counts) is fine


@pytest.mark.slow
def test_tiny_detr_improves_map_and_saves_a_loadable_detector(tmp_path, tiny_detr_dir):
    from transformers import AutoImageProcessor, AutoModelForObjectDetection

    data = tmp_path / "boxes.parquet"
    demo_data_module().boxes_detection(rows=120, seed=2).to_parquet(data)
    config = write_config(tmp_path / "cfg.yaml", OBJECT_DETECTION, tiny_detr_dir, data,
                          architecture={"training_mode": "full"},
                          training={"epochs": 5, "learning_rate": 0.001},
                          prediction={"metrics": ["mAP", "mAP@50", "mAP@75", "mAR"]})
    run = tmp_path / "run"
    assert_completed_with_all_files(run_engine(config, run), run)
    loss, mean_ap, recall = (validation_series(run, name) for name in ("loss", "mAP", "mAR"))
    assert len(loss) == 6  # before training, then once per epoch
    assert loss[-1] < loss[0]
    assert mean_ap[-1] > mean_ap[0] and recall[-1] > recall[0]
    model = AutoModelForObjectDetection.from_pretrained(run / "checkpoint/model")
    AutoImageProcessor.from_pretrained(run / "checkpoint/model")
    assert model.config.num_labels == 2
    predictions = pd.read_parquet(run / "predictions.parquet")
    assert {"row", "target", "prediction"} <= set(predictions.columns)
    assert set(json.loads(predictions["prediction"][0])) == {"bbox", "category", "score"}


@pytest.mark.slow
def test_box_outside_its_image_fails_the_run_with_the_row(tmp_path, tiny_detr_dir):
    frame = demo_data_module().boxes_detection(rows=8, seed=0)
    frame.loc[3, "output"] = json.dumps({"bbox": [[20, 20, 30, 30]], "category": [0]})  # the 4th row
    data = tmp_path / "bad.parquet"
    frame.to_parquet(data)
    config = write_config(tmp_path / "cfg.yaml", OBJECT_DETECTION, tiny_detr_dir, data,
                          dataset={"validation_strategy": "custom", "validation_dataframe": str(data)})
    run = tmp_path / "run"
    assert run_engine(config, run).returncode == 1
    assert "row 4, box 0: [20, 20, 30, 30] is outside the 32x32 image" in read_status(run)["error"]


@pytest.mark.slow
def test_a_billion_category_id_fails_the_run_before_the_head_is_built(tmp_path, tiny_detr_dir):
    # Through the CLI, so the importer's own bound is not what stops it: the engine must.
    frame = demo_data_module().boxes_detection(rows=8, seed=0)
    frame.loc[2, "output"] = json.dumps({"bbox": [[1, 1, 4, 4]], "category": [1_000_000_000]})
    data = tmp_path / "huge_category.parquet"
    frame.to_parquet(data)
    config = write_config(tmp_path / "cfg.yaml", OBJECT_DETECTION, tiny_detr_dir, data,
                          dataset={"validation_strategy": "custom", "validation_dataframe": str(data)})
    run = tmp_path / "run"
    assert run_engine(config, run, timeout=120).returncode == 1
    assert "1,000,000,001 classes" in read_status(run)["error"]
