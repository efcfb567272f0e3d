"""A SIGTERM during a validation's record (metrics, then checkpoint) waits until the record is whole."""
from __future__ import annotations

import os
import signal

import pytest

from training import stop_signal
from training.errors import StopRequested


@pytest.fixture()
def engine_sigterm():
    before = signal.getsignal(signal.SIGTERM)
    stop_signal.install()
    yield
    signal.signal(signal.SIGTERM, before)


def test_a_sigterm_inside_the_record_is_raised_once_it_is_done(engine_sigterm):
    written = []
    with pytest.raises(StopRequested):
        with stop_signal.deferred():
            written.append("metrics")
            os.kill(os.getpid(), signal.SIGTERM)
            written.append("checkpoint")  # still written: the stop waits for it
    assert written == ["metrics", "checkpoint"]


def test_a_sigterm_outside_it_stops_at_once(engine_sigterm):
    with pytest.raises(StopRequested):
        os.kill(os.getpid(), signal.SIGTERM)
    with stop_signal.deferred():  # nothing pending from before
        pass
