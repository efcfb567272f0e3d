"""What the Experiments list may show: search, filters and sorts of a project's rows, and the
best-so-far metric of runs still training (read incrementally from their metrics.jsonl).

The UI formats one page of what this returns; it never reads the store itself, so a permission
check added here later covers the list.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from studio.config.problem_types import DEFAULT_METRICS, HIGHER_IS_BETTER
from studio.runner.run_folder_reader import METRICS_FILE, TERMINAL_STATUSES, MetricsTail
from studio.store import search_experiments, sort_experiments
from studio.store.experiment_queries import searched_text

ACTIVE_STATUSES = ("Queued", "Starting", "Training", "Validation")
ALL = "All"
ACTIVE = "Queued or running"
STATUS_FILTERS = [ALL, ACTIVE, "Completed", "Failed", "Stopped", "Pruned"]
# label → (key, descending); best metric and runtime are sorted here, the rest by the store's sort.
SORTS = {
    "Newest first": ("created", True),
    "Oldest first": ("created", False),
    "Status": ("status", False),
    "Best metric: high → low": ("best_metric", True),
    "Best metric: low → high": ("best_metric", False),
    "Runtime: longest first": ("runtime", True),
    "Runtime: shortest first": ("runtime", False),
}


@dataclass
class BestSoFar:
    name: str
    value: float | None
    offset: int = 0


class ExperimentList:
    def __init__(self, store, experiments):
        self.store = store
        self.experiments = experiments  # ExperimentService: runtimes, run folders, configs
        self._best: dict[str, BestSoFar] = {}
        self._lock = threading.Lock()
        # id → (the read-only row, its searched text): a row changed in the store is a new object.
        self._searched: dict[str, tuple[dict, str]] = {}

    def rows(self, project_id: str, *, query: str = "", sort: str = "Newest first", status: str = ALL,
             problem_type: str | None = None) -> list[dict]:
        """The project's experiments matching the search and filters, in the chosen order."""
        rows = self.store.experiments.list_read_only(project_id)
        if status == ACTIVE:
            rows = [r for r in rows if r.get("status") in ACTIVE_STATUSES]
        elif status and status != ALL:
            rows = [r for r in rows if r.get("status") == status]
        if problem_type and problem_type != ALL:
            rows = [r for r in rows if r.get("problem_type") == problem_type]
        if len(self._searched) > 2 * len(rows) + 1000:  # mostly deleted rows: start again
            self._searched = {}
        rows = search_experiments(rows, query, self._searched_text)
        key, descending = SORTS.get(sort, SORTS["Newest first"])
        if key == "best_metric":
            return _sort_missing_last(rows, lambda r: _number(r.get("best_metric")), descending)
        if key == "runtime":
            return _sort_missing_last(rows, lambda r: self.experiments.runtime_s(r) if r.get("started") else None,
                                      descending)
        return sort_experiments(rows, key, descending)

    def _searched_text(self, row: dict) -> str:
        cached = self._searched.get(row["id"])
        if cached is None or cached[0] is not row:
            cached = self._searched[row["id"]] = (row, searched_text(row))
        return cached[1]

    def best_so_far(self, row: dict) -> tuple[str, float] | None:
        """(metric name, best validation value so far) of a run still going; None before its first evaluation."""
        if row.get("status") in TERMINAL_STATUSES:
            return None
        with self._lock:
            best = self._best.get(row["id"])
            if best is None:
                best = self._best[row["id"]] = BestSoFar(self._primary_metric(row), None)
            tail = MetricsTail(self.experiments.run_dir(row["id"]) / METRICS_FILE, best.offset)
            higher = HIGHER_IS_BETTER.get(best.name, False)
            for record in tail.read_new():
                if record.get("split") != "validation" or record.get("name") != best.name:
                    continue
                value = _number(record.get("value"))
                if value is not None and (best.value is None or (value > best.value if higher else value < best.value)):
                    best.value = value
            best.offset = tail.offset
            return (best.name, best.value) if best.value is not None else None

    def _primary_metric(self, row: dict) -> str:
        try:
            chosen = self.experiments.config_of(row).prediction.metrics
        except Exception:  # an unreadable config: fall back to the problem type's first metric
            chosen = None
        names = list(chosen or DEFAULT_METRICS.get(row.get("problem_type"), []) or ["loss"])
        return names[0]


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _sort_missing_last(rows: list[dict], key, descending: bool) -> list[dict]:
    keyed = [(key(r), r) for r in rows]
    present = [pair for pair in keyed if pair[0] is not None]
    missing = [r for value, r in keyed if value is None]
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [r for _, r in present] + missing
