"""Read-only copies of stored rows, made once per change and shared by every reader.

Listing 5,000 experiments copied each one on every read (the list, each search keystroke, a
sort, a page turn, every tick of a polling tab): 60-70 ms of CPU for data that had not changed.
The storage keeps one read-only copy per row instead, dropped when a write changes that row, so
a reader gets the same objects until something changes. A read-only row is a ``dict`` (``.get``,
``json.dumps``, ``dict(row)`` and ``==`` work) whose nested dicts and lists are read-only too: a
reader that tries to change one gets a ``TypeError``, and the next reader still sees the stored
values. ``dict(row)``, ``row.copy()`` and ``copy.deepcopy(row)`` give changeable plain copies.
"""
from __future__ import annotations

from typing import Any

REFUSAL = "a listed row is read-only: change a copy (dict(row)) or the store (RecordRepo.update)"


def _refuse(self, *_args, **_kwargs):
    raise TypeError(REFUSAL)


class ReadOnlyRow(dict):
    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):  # copy.copy, copy.deepcopy and pickle give plain, changeable data
        return dict, (dict(self),)


class ReadOnlyList(list):
    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = pop = remove = clear = \
        sort = reverse = _refuse

    def __reduce__(self):
        return list, (list(self),)


def read_only_copy(value: Any) -> Any:
    """``value`` (JSON data) copied into read-only dicts and lists."""
    kind = type(value)
    if kind is dict:
        return ReadOnlyRow({k: read_only_copy(v) for k, v in value.items()})
    if kind is list:
        return ReadOnlyList(read_only_copy(v) for v in value)
    return value
