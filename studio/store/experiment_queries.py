"""Search and sort of experiment rows for the Experiments list (pure functions, no I/O)."""
from __future__ import annotations

from typing import Callable, Iterable

# The order a user reads a run's life in: waiting, running, then finished states.
STATUS_ORDER = ("Queued", "Starting", "Training", "Validation", "Completed", "Failed", "Stopped", "Pruned")
_STATUS_RANK = {s.casefold(): i for i, s in enumerate(STATUS_ORDER)}

SEARCH_FIELDS = ("name", "dataset_name", "dataset_id", "id")
SORT_KEYS = ("created", "status", "name")


def searched_text(row: dict) -> str:
    """What a search looks in: name, dataset name and id, experiment id (casefolded)."""
    return "\x00".join(str(row.get(f) or "") for f in SEARCH_FIELDS).casefold()


def search_experiments(rows: Iterable[dict], query: str | None,
                       text_of: Callable[[dict], str] = searched_text) -> list[dict]:
    """Rows whose name, dataset (name or id) or id contain every word of ``query``.

    Case-insensitive substring match; an empty query keeps every row. Order is kept.
    ``text_of`` may be a cached ``searched_text``.
    """
    rows = list(rows)
    terms = (query or "").casefold().split()
    if not terms:
        return rows
    matched = []
    for row in rows:
        text = text_of(row)
        if all(term in text for term in terms):
            matched.append(row)
    return matched


def sort_experiments(rows: Iterable[dict], key: str = "created", descending: bool = True) -> list[dict]:
    """Rows sorted by ``created``, ``status`` (life-cycle order) or ``name``.

    Ties are broken by creation time, newest first, whatever the direction, so the
    list does not reshuffle between refreshes. Rows missing the key go last.
    """
    if key not in SORT_KEYS:
        raise ValueError(f"cannot sort experiments by {key!r}; choose one of {', '.join(SORT_KEYS)}")
    rows = list(rows)
    # Python's sort is stable: sort by the tie-breaker first, then by the key.
    rows.sort(key=lambda r: str(r.get("created") or ""), reverse=True)
    if key == "created":
        present = [r for r in rows if r.get("created")]
        missing = [r for r in rows if not r.get("created")]
        if not descending:
            present.reverse()
        return present + missing

    def rank(row):
        value = row.get(key)
        if key == "status":
            return _STATUS_RANK.get(str(value or "").casefold(), len(STATUS_ORDER)) if value else None
        return str(value).casefold() if value not in (None, "") else None

    present = [r for r in rows if rank(r) is not None]
    missing = [r for r in rows if rank(r) is None]
    present.sort(key=rank, reverse=descending)
    return present + missing
