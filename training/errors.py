"""Errors a user can act on; the recipe turns them into the run's one-line failure reason."""
from __future__ import annotations


class RunError(RuntimeError):
    """A run cannot go on for a reason the user can fix (setting, hardware, model)."""


class DatasetError(RunError):
    """The data does not fit the config: missing column, unreadable file, empty split, bad row."""


class StopRequested(BaseException):
    """SIGTERM arrived: stop cleanly (BaseException so generic ``except Exception`` does not swallow it)."""
