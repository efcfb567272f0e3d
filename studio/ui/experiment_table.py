"""The Experiments list as a table: one page of the rows the list service chose, shown columns, status badges."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from studio.config.problem_types import LABELS
from studio.services.run_duration import format_duration  # noqa: F401 (the pages import it from here)

COLUMNS = ["Name", "Experiment ID", "Dataset", "Created", "Status", "Problem type", "Backbone",
           "Best metric", "Runtime"]
SELECT_COLUMN = "Select"
PAGE_SIZE = 50
ACTIVE = ("Queued", "Starting", "Training", "Validation")


@dataclass
class TablePage:
    frame: pd.DataFrame
    ids: list[str]
    page: int
    pages: int
    total: int
    any_active: bool

    @property
    def label(self) -> str:
        if not self.total:
            return "No experiments"
        first = (self.page - 1) * PAGE_SIZE + 1
        return f"{first}–{first + len(self.ids) - 1} of {self.total} · page {self.page}/{self.pages}"


def table_page(matched: list[dict], service, *, columns: list[str] | None = None, page: int = 1,
               selectable: bool = False, best_so_far=None) -> TablePage:
    """One page of ``matched`` (already searched, filtered and sorted by the list service).

    Only the shown page is formatted, so 5,000 rows cost a filter and a sort, not 5,000 cells.
    ``best_so_far(row)`` gives a running run's best validation value, shown until its final one.
    """
    pages = max(1, math.ceil(len(matched) / PAGE_SIZE))
    page = min(max(1, int(page or 1)), pages)
    shown = matched[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    columns = [c for c in COLUMNS if c in (columns if columns is not None else COLUMNS)]
    records = [format_row(row, service, best_so_far) for row in shown]
    frame = pd.DataFrame([[r[c] for c in columns] for r in records], columns=columns)
    if selectable:
        frame.insert(0, SELECT_COLUMN, False)
    return TablePage(frame, [r["id"] for r in shown], page, pages, len(matched),
                     any(r.get("status") in ACTIVE for r in shown))


def format_row(row: dict, service, best_so_far=None) -> dict:
    return {
        "Name": row.get("name") or "",
        "Experiment ID": row["id"],
        "Dataset": row.get("dataset_name") or row.get("dataset_id") or "",
        "Created": format_time(row.get("created")),
        "Status": status_badge(row),
        "Problem type": LABELS.get(row.get("problem_type"), row.get("problem_type") or ""),
        "Backbone": row.get("backbone") or "",
        "Best metric": format_metric(row) or _running_best(row, best_so_far),
        "Runtime": format_duration(service.runtime_s(row)) if row.get("started") else "",
    }


def format_status(row: dict) -> str:
    status = row.get("status") or ""
    progress = row.get("progress")
    if status in ("Training", "Validation") and isinstance(progress, (int, float)):
        return f"{status} {progress:.0%}"
    return status


def status_badge(row: dict) -> str:
    """The status as a coloured badge (HTML; the table renders this column as html)."""
    status = row.get("status") or ""
    return f"<span class='badge badge-{html.escape(status)}'>{html.escape(format_status(row))}</span>" \
        if status else ""


def _running_best(row: dict, best_so_far) -> str:
    found = best_so_far(row) if best_so_far else None
    return f"{found[0]} {found[1]:.4g} so far" if found else ""


def format_metric(row: dict) -> str:
    value = row.get("best_metric")
    if value is None:
        return ""
    try:
        return f"{row.get('metric_name') or 'metric'} {float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)


def format_time(value) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value)) if not isinstance(value, (int, float)) \
            else datetime.fromtimestamp(value).astimezone()
    except ValueError:
        return str(value)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
