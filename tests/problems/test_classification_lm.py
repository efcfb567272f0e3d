"""Classification LM trained through the real CLI, plus its label handling."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from tests.engine_cli import read_status
from tests.problems.conftest import (
    assert_completed_with_all_files, run_engine, validation_series, write_config,
)

POSITIVE = ["good", "great", "happy", "nice", "fine"]
NEGATIVE = ["bad", "sad", "awful", "poor", "ugly"]
CLASSIFICATION_LM = "text_causal_classification_modeling"


def sentiment(n: int, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        word = rng.choice(POSITIVE if label else NEGATIVE)
        rows.append({"input": f"the {rng.choice(['cat', 'dog', 'car', 'sun'])} is {word}",
                     "output": ["negative", "positive"][label]})
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_lora_classifier_beats_its_untrained_self_and_saves_labels(tmp_path, tiny_llama_dir):
    from transformers import AutoModelForSequenceClassification

    data = tmp_path / "train.csv"
    sentiment(200).to_csv(data, index=False)
    config = write_config(tmp_path / "cfg.yaml", CLASSIFICATION_LM, tiny_llama_dir, data,
                          tokenizer={"max_length": 32},
                          prediction={"metrics": ["AUC", "Accuracy", "LogLoss", "MAP@3"]})
    run = tmp_path / "run"
    result = run_engine(config, run)
    assert_completed_with_all_files(result, run)
    assert (run / "checkpoint/adapter/adapter_config.json").exists()
    auc, logloss = validation_series(run, "AUC"), validation_series(run, "LogLoss")
    assert len(auc) == 2  # before training and at the end
    assert auc[-1] > auc[0] and auc[-1] > 0.9
    assert logloss[-1] < logloss[0]
    model = AutoModelForSequenceClassification.from_pretrained(run / "checkpoint/model")
    assert model.config.id2label == {0: "negative", 1: "positive"}
    predictions = pd.read_parquet(run / "predictions.parquet")
    assert {"prompt", "target", "prediction", "probabilities"} <= set(predictions.columns)
    assert np.allclose(np.stack(predictions["probabilities"]).sum(1), 1.0)


@pytest.mark.slow
def test_multi_label_from_indicator_columns_trains_with_binary_cross_entropy(tmp_path, tiny_llama_dir):
    rng = random.Random(1)
    rows = []
    for _ in range(120):
        has_cat, has_dog = rng.random() < 0.5, rng.random() < 0.5
        words = (["cat"] if has_cat else []) + (["dog"] if has_dog else []) + ["sun"]
        rng.shuffle(words)
        rows.append({"input": " ".join(words), "cat": int(has_cat), "dog": int(has_dog)})
    data = tmp_path / "train.parquet"
    pd.DataFrame(rows).to_parquet(data)
    config = write_config(tmp_path / "cfg.yaml", CLASSIFICATION_LM, tiny_llama_dir, data,
                          dataset={"output_column": ["cat", "dog"]}, architecture={"training_mode": "full"},
                          training={"loss_function": "BinaryCrossEntropy", "learning_rate": 0.002},
                          tokenizer={"max_length": 16}, prediction={"metrics": ["AUC", "LogLoss"]})
    run = tmp_path / "run"
    assert_completed_with_all_files(run_engine(config, run), run)
    auc = validation_series(run, "AUC")
    assert auc[-1] > auc[0]
    predictions = pd.read_parquet(run / "predictions.parquet")
    assert set(predictions["probability_cat"].round(6)) != {0.5}


@pytest.mark.slow
def test_label_outside_num_classes_fails_the_run_naming_the_setting(tmp_path, tiny_llama_dir):
    data = tmp_path / "train.csv"
    pd.DataFrame({"input": ["a", "b", "c", "d", "e"], "output": [0, 1, 2, 1, 0]}).to_csv(data, index=False)
    config = write_config(tmp_path / "cfg.yaml", CLASSIFICATION_LM, tiny_llama_dir, data,
                          dataset={"num_classes": 2})
    run = tmp_path / "run"
    result = run_engine(config, run)
    assert result.returncode == 1
    assert "dataset.num_classes is 2 but the labels in output need 3" in read_status(run)["error"]
