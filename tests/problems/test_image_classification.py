"""Image classification trained through the real CLI on the colour-squares demo generator."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.engine_cli import read_status
from tests.problems.conftest import (
    assert_completed_with_all_files, demo_data_module, run_engine, validation_series, write_config,
)

IMAGE_CLASSIFICATION = "image_classification"


@pytest.mark.slow
def test_lora_vit_with_augmentation_and_mixup_learns_colours(tmp_path, tiny_vit_dir):
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    data = tmp_path / "colours.parquet"
    demo_data_module().colours_classification(rows=96, seed=3).to_parquet(data)
    config = write_config(tmp_path / "cfg.yaml", IMAGE_CLASSIFICATION, tiny_vit_dir, data,
                          training={"epochs": 3, "learning_rate": 0.01, "image_augmentation_pipeline": "medium",
                                    "use_mixup": True, "use_cutmix": True, "image_resolution": 24},
                          architecture={"gradient_checkpointing": False},
                          prediction={"metrics": ["Accuracy", "AUC", "LogLoss", "MAP@3"]})
    run = tmp_path / "run"
    assert_completed_with_all_files(run_engine(config, run), run)
    accuracy, logloss = validation_series(run, "Accuracy"), validation_series(run, "LogLoss")
    assert accuracy[-1] > accuracy[0] and accuracy[-1] >= 0.8
    assert logloss[-1] < logloss[0]
    model = AutoModelForImageClassification.from_pretrained(run / "checkpoint/model")
    processor = AutoImageProcessor.from_pretrained(run / "checkpoint/model")
    assert sorted(model.config.label2id) == ["blue", "green", "red"]
    assert dict(processor.size)["height"] == 24  # the resolution override travels with the model
    predictions = pd.read_parquet(run / "predictions.parquet")
    assert (predictions["target"] == predictions["prediction"]).mean() == accuracy[-1]


@pytest.mark.slow
def test_broken_image_fails_the_run_with_its_row_number_in_the_users_table(tmp_path, tiny_vit_dir):
    from studio.config import load_yaml
    from training.data import load_splits, row_numbers

    frame = demo_data_module().colours_classification(rows=10, seed=0)
    frame.loc[4, "image"] = b"definitely not a png"  # the 5th row: row 5, as the dataset importer counts
    data = tmp_path / "broken.parquet"
    frame.to_parquet(data)
    config = write_config(tmp_path / "cfg.yaml", IMAGE_CLASSIFICATION, tiny_vit_dir, data,
                          dataset={"validation_strategy": "automatic", "validation_size": 0.3})
    train, validation, _ = load_splits(load_yaml(config.read_text()), [], seed=7)
    holder = "train" if 5 in row_numbers(train.frame) else "validation"
    split = train if holder == "train" else validation
    assert row_numbers(split.frame).index(5) != 4  # the shuffle moved it
    run = tmp_path / "run"
    result = run_engine(config, run)
    assert result.returncode == 1
    error = read_status(run)["error"]
    assert error.startswith(f"{holder} data, image column: 1 unreadable image(s): row 5 (")
