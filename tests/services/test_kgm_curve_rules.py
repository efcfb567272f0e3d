"""Every curve and failure rule of Ask KGM on synthetic curves: the finding, the change, the evidence."""
import math

import pytest

from studio.config import from_dict
from studio.services.curve_evidence import read_curves
from studio.services.recommend import recommend

CONFIG = from_dict({"dataset": {"train_dataframe": "t.csv"}, "training": {"epochs": 2, "learning_rate": 1e-4}})


def curve(split, values, every=10):
    return [{"step": i * every, "epoch": i * every / 100, "split": split, "name": "loss", "value": v}
            for i, v in enumerate(values)]


def test_a_loss_that_turns_nan_is_divergence_and_names_the_step():
    reading = read_curves(CONFIG, curve("train", [2.0, 1.9, math.nan, math.nan]))
    first = reading.candidates[0]
    assert reading.finding == "diverged"
    assert first.overrides == {"training": {"learning_rate": 3.33e-05, "gradient_clip": 1.0}}
    assert first.evidence == ["training loss: nan at step 20"]


def test_a_loss_that_climbs_far_above_its_start_is_divergence():
    reading = read_curves(CONFIG, curve("train", [2.0, 2.1, 2.4, 3.0, 3.9, 4.8, 5.5, 6.0]))
    assert reading.finding == "diverged"
    assert "rose from 2.0500 (first quarter) to 5.7500 (last quarter)" in reading.candidates[0].evidence[0]


def test_a_zigzag_loss_means_the_learning_rate_is_too_high():
    reading = read_curves(CONFIG, curve("train", [2.0, 2.4, 1.8, 2.3, 1.7, 2.2, 1.6, 2.1, 1.5, 2.0]))
    assert reading.finding == "lr_high"
    assert reading.candidates[0].overrides["training"]["learning_rate"] == 5e-05
    assert "% of 9 steps went up" in reading.candidates[0].evidence[0]


def test_a_smooth_fall_with_small_noise_is_not_a_zigzag():
    values = [2.0 - 0.1 * i + (0.01 if i % 2 else 0.0) for i in range(10)]
    assert read_curves(CONFIG, curve("train", values)).finding != "lr_high"


def test_validation_loss_rising_after_its_best_is_overfitting():
    metrics = curve("train", [3, 2.5, 2, 1.5, 1, 0.5, 0.2, 0.1]) + curve("validation", [2.0, 1.5, 1.8, 2.2])
    reading = read_curves(CONFIG, metrics)
    assert reading.finding == "overfit"
    assert reading.candidates[0].overrides["training"] == {"epochs": 0.5, "lora_dropout": 0.1}
    assert reading.candidates[0].evidence == ["validation loss lowest (1.5000) at step 10, then 2.2000 at step 30; "
                                              "gap to training loss -1.000 → 0.700"]


def test_a_widening_gap_between_training_and_validation_loss_is_overfitting():
    # Validation barely moves above its best (no 5% rise) but the gap to training loss triples.
    metrics = (curve("train", [2.0, 1.6, 1.2, 0.9, 0.6, 0.4, 0.3, 0.2], every=10)
               + curve("validation", [2.0, 1.5, 1.52, 1.53], every=20))
    reading = read_curves(CONFIG, metrics)
    assert reading.finding == "overfit"
    assert "gap to training loss" in reading.candidates[0].evidence[0]


def test_a_loss_that_barely_moves_means_the_learning_rate_is_too_low():
    reading = read_curves(CONFIG, curve("train", [2.0, 2.0, 1.99, 1.995, 1.99, 1.99, 1.99, 1.99]))
    assert reading.finding == "lr_low"
    assert reading.candidates[0].overrides == {"training": {"learning_rate": 0.0003}}
    assert reading.candidates[0].evidence == ["training loss: 2.0000 → 1.9900 over 8 steps"]


def test_losses_still_falling_at_the_end_is_under_fitting():
    metrics = curve("train", [3, 2.8, 2.6, 2.4, 2.2, 2.0, 1.8, 1.6]) + curve("validation", [2.9, 2.5, 2.1])
    reading = read_curves(CONFIG, metrics)
    assert reading.finding == "underfit"
    assert reading.candidates[0].overrides == {"training": {"epochs": 4}}
    assert "validation loss at its lowest at the end (2.1000)" in reading.candidates[0].evidence[0]


def test_a_loss_that_stalls_after_a_real_drop_is_a_plateau():
    reading = read_curves(CONFIG, curve("train", [2.0, 1.5, 1.2, 1.1, 1.1, 1.1, 1.1, 1.1]))
    assert reading.finding == "plateau"
    assert reading.candidates[0].overrides == {"training": {"lora_rank": 8, "lora_alpha": 16}}
    assert "then stayed flat" in reading.candidates[0].evidence[0]


def test_a_run_without_curves_gets_capacity_not_a_crash():
    reading = read_curves(CONFIG, [])
    assert reading.finding == "no_curves" and reading.candidates[0].evidence == ["no training loss was logged"]


def test_full_fine_tuning_at_a_plateau_polishes_the_learning_rate_instead_of_lora_rank():
    config = from_dict({"dataset": {"train_dataframe": "t.csv"}, "architecture": {"training_mode": "full"}})
    reading = read_curves(config, curve("train", [2.0, 1.5, 1.2, 1.1, 1.1, 1.1, 1.1, 1.1]))
    assert "lora_rank" not in reading.candidates[0].overrides.get("training", {})


def test_every_curve_candidate_is_a_real_change_and_validates():
    for values in ([2.0, 1.5, 1.2, 1.1, 1.1, 1.1, 1.1, 1.1], [3, 2.8, 2.6, 2.4, 2.2, 2.0, 1.8, 1.6], []):
        for candidate in read_curves(CONFIG, curve("train", values)).candidates:
            assert candidate.overrides and candidate.apply_to(CONFIG) != CONFIG


# ---------------------------------------------------------------------- failures
@pytest.mark.parametrize("error, rule", [
    ("CUDA out of memory. Tried to allocate 2.00 GiB", "out_of_memory"),
    ("the training process was killed by the kernel's out-of-memory killer (SIGKILL)", "out_of_memory"),
    ("RuntimeError: loss is NaN at step 12", "not_finite"),
    ("dataset.input_column: column 'question' not found", "data"),
    ("invalid config: training.epochs: must be > 0", "config"),
    ("ReadTimeout: huggingface.co read timed out", "timeout"),
    ("no progress for 10 minutes: the training process stopped responding (last heartbeat 2026-01-01T00:00:00)",
     "hang"),
    ("llm_backbone: cannot load 'x/y': We couldn't connect to 'https://huggingface.co'", "model_not_loadable"),
    ("exited with code 3", "unknown"),
])
def test_each_failure_kind_is_recognised_and_quoted_as_evidence(error, rule):
    rec = recommend(CONFIG, [], status="Failed", error=error)
    assert rec.rule == rule
    assert rec.evidence[0] == f"failure reason: “{error}”"


def test_a_hung_multi_gpu_run_is_retried_on_one_gpu():
    config = from_dict({"dataset": {"train_dataframe": "t.csv"}, "environment": {"number_of_gpus": 2}})
    rec = recommend(config, [], status="Failed", error="no progress for 10 minutes: the training process "
                                                       "stopped responding")
    assert rec.overrides == {"environment": {"number_of_gpus": 1}}


def test_a_hung_run_that_waits_on_the_judge_evaluates_without_it():
    config = from_dict({"dataset": {"train_dataframe": "t.csv"}, "prediction": {"metrics": ["BLEU", "LLM-as-a-Judge"]},
                        "training": {"llm_judge_model": "m"}})
    rec = recommend(config, [], status="Failed", error="no progress for 10 minutes: the training process "
                                                       "stopped responding")
    assert rec.overrides == {"prediction": {"metrics": ["BLEU"]}}


def test_a_pruned_trial_gets_curve_advice_and_says_it_was_pruned():
    rec = recommend(CONFIG, curve("train", [2.0, 2.0, 1.99, 1.995, 1.99, 1.99, 1.99, 1.99]), status="Pruned")
    assert rec.rule == "lr_low"
    assert any("pruned by its AutoML study" in line for line in rec.evidence)


def test_an_unknown_status_is_read_from_its_curves():
    rec = recommend(CONFIG, curve("train", [2.0, 2.0, 1.99, 1.995, 1.99, 1.99, 1.99, 1.99]), status="Archived")
    assert rec.rule == "lr_low" and rec.launchable
