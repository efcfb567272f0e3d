"""What the text and image classifiers share: the label space, the losses and the evaluation.

Labels come from ``dataset.output_column``:
- one column of class labels (ints or strings): single-label, binary when there are two classes;
- several columns of 0/1 (one per class, the column names are the class names), or one column
  holding lists of labels: multi-label.

Targets are always a float matrix ``(n, num_classes)`` (one-hot, multi-hot, or the soft labels
mixup/CutMix make), so one loss function serves every layout.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from studio.config.data_bounds import MAX_NUM_CLASSES
from training.data import row_numbers
from training.errors import DatasetError
from training.metrics.classification import compute_classification_metrics
from training.problems import EvalContext, Evaluation, Problem, SplitData

FOCAL_GAMMA = 2.0
SPLITS = ("train", "validation")  # the order of the frames LabelSpace.detect receives
MAX_BAD_ROWS_LISTED = 20


def output_columns(cfg) -> list[str]:
    out = cfg.dataset.output_column
    if out is None:
        raise DatasetError("dataset.output_column: a classifier needs the column holding the labels")
    return [out] if isinstance(out, str) else list(out)


def _is_list_cell(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) or (isinstance(value, str) and value.strip().startswith("["))


def _as_list(value: Any, where: str, column: str) -> list:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DatasetError(f"{column} column, {where}: {value!r} is not a JSON list of labels") from None
    return list(value.tolist() if isinstance(value, np.ndarray) else value)


def _int_like(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    if isinstance(value, (float, np.floating)):
        return float(value).is_integer()
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def _cells(frames: list[pd.DataFrame], column: str) -> list[tuple[str, Any]]:
    """("<split> row <n>", value) for every cell of ``column``; frames are [train, validation]."""
    return [(f"{split} row {row}", value) for split, frame in zip(SPLITS, frames)
            for row, value in zip(row_numbers(frame), frame[column].tolist())]


def _too_many(bad: list[str]) -> str:
    more = f"; and {len(bad) - MAX_BAD_ROWS_LISTED} more" if len(bad) > MAX_BAD_ROWS_LISTED else ""
    return "; ".join(bad[:MAX_BAD_ROWS_LISTED]) + more


def refuse_too_many_classes(num_classes: int, column: str) -> None:
    """Stop before a head (and the id/name tables) of absurd size is allocated: a class id of
    1,000,000,000 would otherwise make a billion-row head and get the run killed for memory."""
    if num_classes > MAX_NUM_CLASSES:
        raise DatasetError(f"{column}: {num_classes:,} classes (the largest class id + 1, or dataset.num_classes) "
                           f"is more than the {MAX_NUM_CLASSES:,} allowed; number the classes from 0")


@dataclass
class LabelSpace:
    """Class names in id order and how the output column(s) encode them."""

    names: list[str]
    multi_label: bool
    layout: str  # "ids" (int labels), "names" (string labels), "indicator_columns", "lists"
    columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.names)

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    @classmethod
    def detect(cls, frames: list[pd.DataFrame], columns: list[str], num_classes: int | None) -> "LabelSpace":
        """Infer the classes from every split (so train and validation share ids)."""
        if len(columns) > 1:
            return cls._indicator_columns(frames, columns, num_classes)
        column = columns[0]
        cells = _cells(frames, column)
        missing = [where for where, v in cells if v is None or (isinstance(v, float) and np.isnan(v))]
        if missing:
            raise DatasetError(f"{column} column: empty label in {_too_many(missing)}")
        multi = any(_is_list_cell(v) for _, v in cells)
        if multi:
            items = [x for where, v in cells for x in _as_list(v, where, column)]
        else:
            items = [v for _, v in cells]
        if items and all(_int_like(x) for x in items):
            ids = [int(float(x)) for x in items]
            if min(ids) < 0:
                raise DatasetError(f"{column} column: class ids must be 0 or more; found {min(ids)}")
            detected = max(ids) + 1
            total = cls._check_count(detected, num_classes, column)
            notes = [f"num_classes: {total} ({'set in dataset.num_classes' if num_classes else 'max class id + 1'})"]
            return cls([str(i) for i in range(total)], multi, "lists" if multi else "ids", [column], notes)
        names = sorted({str(x) for x in items})
        total = cls._check_count(len(names), num_classes, column)
        names += [f"class_{i}" for i in range(len(names), total)]
        notes = [f"num_classes: {total} from the distinct labels of {column!r}: {', '.join(names[:20])}"]
        return cls(names, multi, "lists" if multi else "names", [column], notes)

    @classmethod
    def _indicator_columns(cls, frames, columns, num_classes) -> "LabelSpace":
        bad = []
        for column in columns:
            valid = np.concatenate([pd.to_numeric(f[column], errors="coerce").isin([0, 1]).to_numpy() for f in frames])
            bad += [f"{where} ({column}={value!r})" for (where, value), ok in zip(_cells(frames, column), valid)
                    if not ok]
        if bad:
            raise DatasetError("dataset.output_column: several columns make a multi-label target, so each must "
                               f"hold 0 or 1; bad values in {_too_many(bad)}")
        cls._check_count(len(columns), num_classes, ", ".join(columns), exact=True)
        return cls(list(columns), True, "indicator_columns", list(columns),
                   [f"multi-label over {len(columns)} indicator columns: {', '.join(columns)}"])

    @staticmethod
    def _check_count(detected: int, num_classes: int | None, column: str, exact: bool = False) -> int:
        refuse_too_many_classes(num_classes or detected, column)
        if num_classes is None:
            if detected < 2:
                raise DatasetError(f"{column}: only one class found; a classifier needs at least two "
                                   "(or set dataset.num_classes)")
            return detected
        if num_classes < detected or (exact and num_classes != detected):
            raise DatasetError(f"dataset.num_classes is {num_classes} but the labels in {column} need {detected}")
        return num_classes

    def targets(self, frame: pd.DataFrame, split: str) -> np.ndarray:
        """The ``(n, num_classes)`` float target matrix of one split; bad rows are all reported at once."""
        n, k = len(frame), self.num_classes
        out = np.zeros((n, k), dtype=np.float32)
        if self.layout == "indicator_columns":
            return frame[self.columns].apply(pd.to_numeric).to_numpy(dtype=np.float32)
        column = self.columns[0]
        lookup = self.label2id
        bad = []
        for position, (row, value) in enumerate(zip(row_numbers(frame), frame[column].tolist())):
            labels = _as_list(value, f"{split} row {row}", column) if self.layout == "lists" else [value]
            for label in labels:
                key = str(int(float(label))) if self.layout in ("ids", "lists") and _int_like(label) else str(label)
                if key not in lookup:
                    bad.append(f"row {row} ({label!r})")
                else:
                    out[position, lookup[key]] = 1.0
        if bad:
            raise DatasetError(f"{split} data, {column} column: label(s) outside the {k} classes "
                               f"{self.names[:20]}: {_too_many(bad)}")
        return out

    def describe(self, target_row: np.ndarray) -> str:
        chosen = np.flatnonzero(target_row > 0.5) if self.multi_label else [int(np.argmax(target_row))]
        return ", ".join(self.names[i] for i in chosen)


def classification_loss(logits: torch.Tensor, targets: torch.Tensor, kind: str, multi_label: bool) -> torch.Tensor:
    """Mean loss over the batch. CrossEntropy on a multi-label target is the per-class binary one."""
    logits = logits.float()
    if kind == "BinaryCrossEntropy" or (multi_label and kind == "CrossEntropy"):
        return F.binary_cross_entropy_with_logits(logits, targets)
    if kind == "FocalLoss":
        if multi_label:
            bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
            p_t = torch.exp(-bce)  # the probability given to the true value of each label
            return ((1.0 - p_t) ** FOCAL_GAMMA * bce).mean()
        log_p = F.log_softmax(logits, dim=-1)
        return (-(targets * (1.0 - log_p.exp()) ** FOCAL_GAMMA * log_p).sum(-1)).mean()
    if kind == "CrossEntropy":
        return F.cross_entropy(logits, targets)  # probability targets: one-hot or mixed
    raise ValueError(f"training.loss_function: {kind!r} is not a classification loss")


def class_probabilities(logits: torch.Tensor, kind: str, multi_label: bool) -> torch.Tensor:
    """Independent sigmoids where the model was trained per class, softmax otherwise."""
    if multi_label or kind == "BinaryCrossEntropy":
        return torch.sigmoid(logits.float())
    return torch.softmax(logits.float(), dim=-1)


class ClassifierProblem(Problem):
    """Shared by text and image classification: label space, loss, metrics, predictions table.

    Samples are dicts with a ``target`` row. Subclasses provide ``model_inputs(samples)`` (the CPU
    tensors of a validation batch), ``collate_train`` (adding ``targets``), ``logits(model, batch)``
    and ``prediction_columns()`` (the input side of the predictions table).
    """

    def __init__(self, cfg, logs, device):
        super().__init__(cfg, logs, device)
        self.labels: LabelSpace | None = None

    # The head size depends on the labels, so they are read from the splits before the model is built.
    def observe_data(self, train: SplitData, validation: SplitData) -> None:
        self.labels = LabelSpace.detect([train.frame, validation.frame], output_columns(self.cfg),
                                        self.cfg.dataset.num_classes)

    def label_space(self) -> LabelSpace:
        if self.labels is None:
            raise RuntimeError("observe_data(train, validation) must run before the model and datasets are built")
        return self.labels

    def configure_head(self, config) -> None:
        """Write the label space into a model config (saved with the model for from_pretrained)."""
        labels = self.label_space()
        for note in labels.notes:
            self.logs.train(note)
        config.num_labels = labels.num_classes
        config.id2label = dict(enumerate(labels.names))
        config.label2id = labels.label2id
        config.problem_type = "multi_label_classification" if labels.multi_label else "single_label_classification"
        if self.cfg.training.loss_function == "CrossEntropy" and labels.multi_label:
            self.logs.train("loss: CrossEntropy on a multi-label target is computed per class "
                            "(binary cross-entropy with logits)")

    def log_class_counts(self, what: str) -> None:
        counts = np.sum([s["target"] for s in self.train_dataset], axis=0).astype(int).tolist()
        self.logs.train(f"{len(self.train_dataset)} training and {len(self.validation_dataset)} validation {what}; "
                        f"training {what} per class: "
                        + ", ".join(f"{n} {c}" for n, c in zip(self.labels.names[:20], counts)))

    @staticmethod
    def targets_of(samples: list[dict[str, Any]]) -> torch.Tensor:
        return torch.tensor(np.stack([s["target"] for s in samples]))

    def model_inputs(self, samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def logits(self, model, batch: dict[str, Any]) -> torch.Tensor:
        raise NotImplementedError

    def training_loss(self, model, batch) -> torch.Tensor:
        with self.autocast():
            logits = self.logits(model, batch)
        return classification_loss(logits, batch["targets"], self.cfg.training.loss_function, self.labels.multi_label)

    # ---- evaluation ---------------------------------------------------------------------
    def validation_batches(self) -> Iterator[tuple[dict[str, Any], torch.Tensor]]:
        bs = self.inference_batch_size()
        for start in range(0, len(self.validation_dataset), bs):
            chunk = self.validation_dataset[start:start + bs]
            yield self.model_inputs(chunk), self.targets_of(chunk)

    def prediction_columns(self) -> dict[str, list]:
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, model, context: EvalContext) -> Evaluation:
        model.eval()
        kind, multi = self.cfg.training.loss_function, self.labels.multi_label
        losses, probs, targets = [], [], []
        total = self.validation_size()
        seen = 0
        for batch, target in self.validation_batches():
            batch = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in batch.items()}
            with self.autocast():
                logits = self.logits(model, batch).float()
            target = target.to(self.device)
            losses.append(float(classification_loss(logits, target, kind, multi)) * len(target))
            probs.append(class_probabilities(logits, kind, multi).cpu().numpy())
            targets.append(target.cpu().numpy())
            seen += len(target)
            context.report(seen / max(1, total))
        model.train()
        p, t = np.concatenate(probs), np.concatenate(targets)
        y_true = t.astype(int) if multi else t.argmax(1)
        selected = self.cfg.prediction.metrics or []
        values, notes = compute_classification_metrics(selected, y_true, p)
        result = Evaluation(loss=sum(losses) / max(1, seen), metrics=values)
        for note in notes:
            self.logs.train(note)
        for name in selected:
            if name not in values:
                result.failed[name] = " ".join(n for n in notes if n.startswith(name)) or "undefined on this data"
        table = pd.DataFrame(self.prediction_columns())
        table["target"] = [self.labels.describe(row) for row in t]
        predicted = (p >= 0.5).astype(np.float32) if multi else p
        table["prediction"] = [self.labels.describe(row) for row in predicted]
        table["probabilities"] = [row.astype(float).tolist() for row in p]
        for i, name in enumerate(self.labels.names):
            table[f"probability_{name}"] = p[:, i]
        result.predictions = table
        return result

    def validation_size(self) -> int:
        return len(self.validation_dataset)
