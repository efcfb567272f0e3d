"""Classification metrics checked against scikit-learn and a direct Kaggle MAP@k."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from training.metrics.classification import (
    accuracy, auc, average_precision_at_k, compute_classification_metrics, log_loss, map_at_3,
)

RNG = np.random.default_rng(7)


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _kaggle_apk(actual, predicted, k):
    # The reference from Kaggle's ml_metrics package, kept verbatim in spirit.
    if len(predicted) > k:
        predicted = predicted[:k]
    score, num_hits = 0.0, 0.0
    for i, p in enumerate(predicted):
        if p in actual and p not in predicted[:i]:
            num_hits += 1.0
            score += num_hits / (i + 1.0)
    if not actual:
        return 0.0
    return score / min(len(actual), k)


Y4 = np.array([0, 1, 2, 3, 0, 1, 2, 3, 1, 2, 0, 3])
P4 = _softmax(RNG.normal(size=(12, 4)) + np.eye(4)[Y4] * 1.2)


def test_binary_auc_matches_sklearn_including_ties():
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    p1 = np.array([0.1, 0.4, 0.4, 0.8, 0.4, 0.9, 0.2, 0.3])  # ties across classes at 0.4
    probs = np.stack([1 - p1, p1], axis=1)
    assert auc(y, probs) == pytest.approx(skm.roc_auc_score(y, p1))


def test_multiclass_auc_is_sklearn_one_vs_rest_macro():
    assert auc(Y4, P4) == pytest.approx(skm.roc_auc_score(Y4, P4, multi_class="ovr", average="macro"))


def test_multiclass_auc_skips_a_class_missing_from_validation_and_says_so():
    y = np.array([0, 1, 0, 1, 3, 3, 0, 1])  # class 2 never occurs
    probs = _softmax(RNG.normal(size=(8, 4)))
    notes: list[str] = []
    value = auc(y, probs, notes=notes)
    expected = np.mean([skm.roc_auc_score(y == c, probs[:, c]) for c in (0, 1, 3)])
    assert value == pytest.approx(expected)
    assert notes and "[2]" in notes[0]


def test_binary_auc_with_one_class_is_left_out_not_a_crash():
    values, notes = compute_classification_metrics(["AUC", "Accuracy"], np.array([1, 1, 1]),
                                                   np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]))
    assert "AUC" not in values and values["Accuracy"] == pytest.approx(2 / 3)
    assert "only one class" in notes[0]


def test_accuracy_and_logloss_match_sklearn():
    assert accuracy(Y4, P4) == pytest.approx(skm.accuracy_score(Y4, P4.argmax(1)))
    assert log_loss(Y4, P4) == pytest.approx(skm.log_loss(Y4, P4, labels=[0, 1, 2, 3]))


def test_logloss_of_a_zero_probability_is_large_but_finite():
    value = log_loss(np.array([0, 1]), np.array([[1.0, 0.0], [1.0, 0.0]]))
    assert np.isfinite(value)
    assert value == pytest.approx(-np.log(1e-15) / 2, rel=1e-6)


def test_map_at_3_matches_kaggle_reference_single_label():
    ranked = np.argsort(-P4, axis=1, kind="stable")[:, :3]
    expected = np.mean([_kaggle_apk([int(a)], list(r), 3) for a, r in zip(Y4, ranked)])
    assert map_at_3(Y4, P4) == pytest.approx(expected)
    # a hand-checked case: true label ranked 1st, 2nd, 3rd, 4th -> 1, 1/2, 1/3, 0
    probs = np.array([[0.4, 0.3, 0.2, 0.1]] * 4)
    assert map_at_3(np.array([0, 1, 2, 3]), probs) == pytest.approx((1 + 1 / 2 + 1 / 3) / 4)


def test_map_at_k_multi_label_matches_kaggle_reference():
    for actual, predicted in [([1, 3], [3, 0, 1]), ([2], [0, 1, 4]), ([0, 1, 2, 3], [0, 5, 1]), ([], [1, 2, 3])]:
        assert average_precision_at_k(actual, predicted, 3) == pytest.approx(_kaggle_apk(actual, predicted, 3))


def test_multi_label_metrics_match_sklearn():
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]])
    p = 1 / (1 + np.exp(-(RNG.normal(size=y.shape) + (y - 0.5) * 2)))
    assert auc(y, p) == pytest.approx(skm.roc_auc_score(y, p, average="macro"))
    assert accuracy(y, p) == pytest.approx(skm.accuracy_score(y, (p >= 0.5).astype(int)))
    expected_bce = np.mean([skm.log_loss(y[:, c], p[:, c], labels=[0, 1]) for c in range(3)])
    assert log_loss(y, p) == pytest.approx(expected_bce)


def test_multi_label_auc_skips_a_constant_label_column():
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    p = RNG.uniform(size=y.shape)
    notes: list[str] = []
    expected = np.mean([skm.roc_auc_score(y[:, c], p[:, c]) for c in (0, 1)])
    assert auc(y, p, notes=notes) == pytest.approx(expected)
    assert "[2]" in notes[0]


def test_unknown_metric_name_is_an_error_naming_the_choices():
    with pytest.raises(ValueError, match="MAP@3"):
        compute_classification_metrics(["F1"], Y4, P4)
