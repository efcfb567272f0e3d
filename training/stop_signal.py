"""SIGTERM (Stop, a study's pruner, torchrun) ends the run, but never in the middle of a validation's record.

A validation writes its metrics, then saves ``checkpoint/last``. A study prunes a trial as soon
as its metric appears in metrics.jsonl, so its SIGTERM arrived while the first checkpoint was
being written and the pruned trial kept none (a CI failure of the study test). Inside
``deferred()`` a SIGTERM is remembered and raised once the block is done.
"""
from __future__ import annotations

import signal
from contextlib import contextmanager

from training.errors import StopRequested

_depth = 0
_pending = False


def on_sigterm(signum, frame):
    global _pending
    if _depth:
        _pending = True
        return
    raise StopRequested()


def install() -> None:
    signal.signal(signal.SIGTERM, on_sigterm)


@contextmanager
def deferred():
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending:
            _pending = False
            raise StopRequested()
