"""Multimodal (image + question -> answer) trained through the real CLI on a tiny Llava."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.engine_cli import read_status
from tests.problems.conftest import (
    assert_completed_with_all_files, demo_data_module, run_engine, validation_series, write_config,
)

MULTIMODAL = "multimodal_causal_language_modeling"


@pytest.mark.slow
def test_tiny_llava_learns_to_answer_the_colour_question(tmp_path, tiny_llava_dir):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    data = tmp_path / "vqa.parquet"
    demo_data_module().colours_vqa(rows=120, seed=1).to_parquet(data)
    config = write_config(tmp_path / "cfg.yaml", MULTIMODAL, tiny_llava_dir, data,
                          tokenizer={"max_length": 64},
                          architecture={"training_mode": "full", "gradient_checkpointing": False},
                          training={"epochs": 3, "learning_rate": 0.01},
                          prediction={"metrics": ["Perplexity", "BLEU", "QA_Accuracy"], "max_length_inference": 6,
                                      "min_length_inference": 1})
    run = tmp_path / "run"
    assert_completed_with_all_files(run_engine(config, run), run)
    perplexity, qa = validation_series(run, "Perplexity"), validation_series(run, "QA_Accuracy")
    assert perplexity[-1] < perplexity[0] / 10
    assert qa[0] == 0.0 and qa[-1] >= 0.5  # above the ~1/3 of always giving the same colour
    predictions = pd.read_parquet(run / "predictions.parquet")
    assert {"prompt", "target", "prediction", "QA_Accuracy"} <= set(predictions.columns)
    assert predictions["prompt"][0] == "What colour is the square?"  # the image slot is not shown as text
    AutoModelForImageTextToText.from_pretrained(run / "checkpoint/model")
    AutoProcessor.from_pretrained(run / "checkpoint/model")


@pytest.mark.slow
def test_max_length_shorter_than_the_image_tokens_is_a_clear_error(tmp_path, tiny_llava_dir):
    data = tmp_path / "vqa.parquet"
    demo_data_module().colours_vqa(rows=10, seed=1).to_parquet(data)
    config = write_config(tmp_path / "cfg.yaml", MULTIMODAL, tiny_llava_dir, data, tokenizer={"max_length": 16})
    run = tmp_path / "run"
    assert run_engine(config, run).returncode == 1
    error = read_status(run)["error"]
    assert "tokenizer.max_length 16 is too short for the image tokens" in error
    from studio.config import load_yaml
    from training.data import load_splits, row_numbers

    train, _, _ = load_splits(load_yaml(config.read_text()), [], seed=7)
    assert set(re.findall(r"row (\d+) \(", error)) == {str(n) for n in row_numbers(train.frame)}
