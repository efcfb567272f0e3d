"""The best evaluation follows the first selected metric in its direction, or the loss."""
from __future__ import annotations

from training.best_evaluation import BestEvaluation


def _run(best: BestEvaluation, values: list[float | None]) -> dict | None:
    for step, value in enumerate(values, start=1):
        best.offer(step * 10, step / 2, value)
    return best.best


def test_lower_perplexity_wins_and_a_later_worse_value_does_not_replace_it():
    assert _run(BestEvaluation(["Perplexity", "BLEU"]), [9.0, 4.0, 6.0]) == {"step": 20, "epoch": 1.0,
                                                                             "Perplexity": 4.0}


def test_higher_accuracy_wins_and_ties_keep_the_earlier_evaluation():
    assert _run(BestEvaluation(["Accuracy"]), [0.5, 0.8, 0.8, 0.7]) == {"step": 20, "epoch": 1.0, "Accuracy": 0.8}


def test_without_metrics_the_validation_loss_decides():
    assert _run(BestEvaluation([]), [2.0, 1.5, 1.7])["loss"] == 1.5
    assert _run(BestEvaluation(None), [2.0])["step"] == 10


def test_failed_or_non_finite_values_are_skipped():
    assert _run(BestEvaluation(["BLEU"]), [None, float("nan"), 3.0, None]) == {"step": 30, "epoch": 1.5, "BLEU": 3.0}


def test_replay_of_metrics_lines_rebuilds_the_record():
    records = [{"step": 5, "epoch": 0.5, "split": "validation", "name": "mAP", "value": 0.2},
               {"step": 5, "epoch": 0.5, "split": "train", "name": "mAP", "value": 0.9},
               {"step": 10, "epoch": 1.0, "split": "validation", "name": "loss", "value": 0.1},
               {"step": 10, "epoch": 1.0, "split": "validation", "name": "mAP", "value": 0.4}]
    best = BestEvaluation(["mAP"])
    best.replay(records)
    assert best.best == {"step": 10, "epoch": 1.0, "mAP": 0.4}
