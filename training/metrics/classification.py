"""Validation metrics for classifiers: AUC, Accuracy, LogLoss, MAP@3.

Two label layouts are accepted everywhere:
- single-label: ``y_true`` is an int array ``(n,)`` of class ids and ``probs`` a
  ``(n, C)`` array of class probabilities (softmax; binary problems have ``C == 2``);
- multi-label: ``y_true`` is a 0/1 array ``(n, C)`` and ``probs`` ``(n, C)``
  independent per-class probabilities (sigmoid).

A metric that is undefined on the given validation data (e.g. AUC when only one
class occurs) returns ``None`` and appends a sentence to ``notes`` explaining why,
so the caller can log it and leave the value out instead of writing NaN.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

# Probabilities are clipped away from 0 and 1 so one confident mistake gives a
# large but finite LogLoss (the same floor Kaggle and older scikit-learn use).
LOGLOSS_EPS = 1e-15


def _as_arrays(y_true, probs) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1:  # binary given as P(class 1) only
        p = np.stack([1.0 - p, p], axis=1)
    if p.ndim != 2 or len(p) != len(y):
        raise ValueError(f"probs must have shape (n, num_classes) with n = {len(y)}; got {p.shape}")
    return y, p


def is_multi_label(y_true) -> bool:
    return np.asarray(y_true).ndim == 2


def auc(y_true, probs, notes: list[str] | None = None) -> float | None:
    """ROC AUC: binary, multi-class one-vs-rest macro, or multi-label macro.

    Classes that cannot be scored on this validation set (absent, or present in
    every row) are skipped and named in ``notes``; the macro mean covers the rest.
    """
    y, p = _as_arrays(y_true, probs)
    notes = notes if notes is not None else []
    num_classes = p.shape[1]
    if is_multi_label(y):
        columns = [(c, y[:, c].astype(int)) for c in range(num_classes)]
    elif num_classes == 2:
        columns = [(1, (y == 1).astype(int))]
    else:
        columns = [(c, (y == c).astype(int)) for c in range(num_classes)]

    scores, skipped = [], []
    for c, positives in columns:
        if positives.min() == positives.max():
            skipped.append(c)
            continue
        scores.append(roc_auc_score(positives, p[:, c]))
    if skipped:
        if num_classes == 2 and not is_multi_label(y):
            notes.append("AUC skipped: the validation labels contain only one class.")
        else:
            notes.append(f"AUC: class(es) {skipped} skipped because the validation labels have no "
                         "positive (or no negative) example for them; the macro average covers the rest.")
    if not scores:
        return None
    return float(np.mean(scores))


def accuracy(y_true, probs, notes: list[str] | None = None) -> float:
    """Share of correct predictions: argmax for single-label; for multi-label an
    exact match of every label at threshold 0.5 (scikit-learn's subset accuracy)."""
    y, p = _as_arrays(y_true, probs)
    if is_multi_label(y):
        return float(np.mean(np.all((p >= 0.5).astype(int) == y.astype(int), axis=1)))
    return float(np.mean(np.argmax(p, axis=1) == y.astype(int)))


def log_loss(y_true, probs, notes: list[str] | None = None) -> float:
    """Mean negative log-likelihood of the true labels, probabilities clipped to
    [1e-15, 1 - 1e-15] (single-label rows renormalised); multi-label = mean binary
    cross-entropy over every (row, class) pair."""
    y, p = _as_arrays(y_true, probs)
    p = np.clip(p, LOGLOSS_EPS, 1.0 - LOGLOSS_EPS)
    if is_multi_label(y):
        y = y.astype(np.float64)
        return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(y)), y.astype(int)])))


def average_precision_at_k(actual: Sequence[int], predicted: Sequence[int], k: int) -> float:
    """Kaggle's AP@k: precision at each rank that hits a new relevant label,
    summed over the first k predictions and divided by min(len(actual), k)."""
    if not len(actual):
        return 0.0
    predicted = list(predicted)[:k]
    relevant = set(int(a) for a in actual)
    hits, score, seen = 0, 0.0, set()
    for rank, label in enumerate(predicted, start=1):
        if label in relevant and label not in seen:
            hits += 1
            score += hits / rank
        seen.add(label)
    return score / min(len(relevant), k)


def top_k_labels(probs, k: int) -> np.ndarray:
    """Class ids ranked by probability; ties keep the lower class id first."""
    p = np.asarray(probs, dtype=np.float64)
    return np.argsort(-p, axis=1, kind="stable")[:, :k]


def map_at_k(y_true, probs, k: int = 3, notes: list[str] | None = None) -> float:
    """Mean AP@k over rows (for single-label rows this is 1/rank of the true
    class when it is in the top k, else 0)."""
    y, p = _as_arrays(y_true, probs)
    ranked = top_k_labels(p, k)
    if is_multi_label(y):
        actual = [np.flatnonzero(row).tolist() for row in y]
    else:
        actual = [[int(label)] for label in y]
    return float(np.mean([average_precision_at_k(a, r, k) for a, r in zip(actual, ranked)]))


def map_at_3(y_true, probs, notes: list[str] | None = None) -> float:
    return map_at_k(y_true, probs, k=3)


CLASSIFICATION_METRICS: dict[str, Callable[..., float | None]] = {
    "AUC": auc,
    "Accuracy": accuracy,
    "LogLoss": log_loss,
    "MAP@3": map_at_3,
}


def compute_classification_metrics(names: Sequence[str], y_true, probs) -> tuple[dict[str, float], list[str]]:
    """Every requested metric that is defined on this data, plus notes for the rest."""
    values: dict[str, float] = {}
    notes: list[str] = []
    for name in names:
        if name not in CLASSIFICATION_METRICS:
            raise ValueError(f"unknown classification metric {name!r}; choose from {sorted(CLASSIFICATION_METRICS)}")
        value = CLASSIFICATION_METRICS[name](y_true, probs, notes=notes)
        if value is not None:
            values[name] = value
    return values, notes
