"""Which evaluation of a run scored best on its tracked metric.

The tracked metric is the first selected one (``prediction.metrics[0]``), or the validation
loss when none is selected; ``studio.config.problem_types.HIGHER_IS_BETTER`` gives its
direction (lower is better for the loss). Only the record is kept: ``checkpoint/model`` is
the final model, and no extra copy of the weights is written for the best evaluation.
"""
from __future__ import annotations

import math

from studio.config.problem_types import HIGHER_IS_BETTER

LOSS = "loss"


class BestEvaluation:
    def __init__(self, selected_metrics: list[str] | None):
        self.name = selected_metrics[0] if selected_metrics else LOSS
        self.higher_is_better = HIGHER_IS_BETTER.get(self.name, False)
        self.best: dict | None = None

    def offer(self, step: int, epoch: float, value: float | None) -> bool:
        """Record this evaluation if it beats the best so far; True when it does."""
        if value is None or not math.isfinite(value):
            return False  # the metric failed this time: nothing to compare
        if self.best is not None:
            previous = self.best[self.name]
            if not (value > previous if self.higher_is_better else value < previous):
                return False
        self.best = {"step": int(step), "epoch": round(float(epoch), 4), self.name: float(value)}
        return True

    def replay(self, records: list[dict]) -> None:
        """Rebuild the record from metrics.jsonl lines (on resume)."""
        for record in records:
            if record.get("split") == "validation" and record.get("name") == self.name:
                self.offer(record["step"], record["epoch"], record["value"])
