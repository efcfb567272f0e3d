"""Gradio's event queue woken by work instead of polling for it.

Gradio's queue loop checks for new events by sleeping ``sleep_when_free`` and looking again
(1 ms by default; ``app.py`` raised it to 20 ms). Each wake-up costs the idle app CPU: with the
loop asleep for 1 s instead, the idle app used about half the CPU (1.5-3.6% of a core against
0.8-1.6%, measured in turns on the 2-core machine), but every event would then wait up to 1 s to
start. Here the loop sleeps long and is woken at once when an event is pushed or a job ends (a
worker or a concurrency slot is free), so events start as soon as before.

Gradio's progress loop (every 0.1 s in ``app.py``) sleeps the same way. Only these two loops'
sleeps are woken: they are given a ``WakeableDelay``, which no other sleep in Gradio's queue uses.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import weakref

log = logging.getLogger(__name__)
IDLE_SLEEP_S = 1.0  # the longest an idle loop sleeps; a push or a finished job ends it sooner
# Gradio's progress loop (gr.Progress messages of running events) sleeps this long between looks,
# idle or not: a running push's progress bar moves once a second, or at any push or job end.
PROGRESS_SLEEP_S = 1.0


class WakeableDelay(float):
    """A sleep of the queue loop that a push or a finished job ends early."""


class _WakeableAsyncio:
    """What ``gradio.queueing`` sees as ``asyncio``: the same module, whose ``sleep`` ends a
    ``WakeableDelay`` early on ``wake()``. One wake-up per event loop: each launched Blocks serves
    its queue in its own server loop, and an asyncio.Event belongs to one loop."""

    def __init__(self):
        self._wakes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __getattr__(self, name):
        return getattr(asyncio, name)

    async def sleep(self, delay, result=None):
        if not isinstance(delay, WakeableDelay):
            return await asyncio.sleep(delay, result)
        wake = self._wakes.setdefault(asyncio.get_running_loop(), asyncio.Event())
        try:
            await asyncio.wait_for(wake.wait(), float(delay))
        except asyncio.TimeoutError:
            pass
        wake.clear()
        return result

    def wake(self) -> None:
        """Called in the loop of the queue that has work."""
        wake = self._wakes.get(asyncio.get_running_loop())
        if wake is not None:
            wake.set()


def wake_on_work(queue, queueing_module=None) -> bool:
    """Make ``queue`` (a Blocks' ``_queue``) sleep until there is work; False if this Gradio's
    queue does not look as expected (it then keeps polling as before)."""
    if queueing_module is None:
        from gradio import queueing as queueing_module
    wanted = ("sleep_when_free", "push", "process_events")
    seen = getattr(queueing_module, "asyncio", None)
    if queue is None or not all(hasattr(queue, name) for name in wanted) \
            or not (seen is asyncio or isinstance(seen, _WakeableAsyncio)):
        log.info("Gradio's queue keeps polling: its layout is not the one studio/ui/queue_wake.py knows")
        return False
    if seen is asyncio:
        queueing_module.asyncio = _WakeableAsyncio()
    shim = queueing_module.asyncio
    queue.push = _waking(queue.push, shim)  # an event arrived
    queue.process_events = _waking(queue.process_events, shim)  # a worker or a concurrency slot is free
    queue.sleep_when_free = WakeableDelay(IDLE_SLEEP_S)
    if hasattr(queue, "progress_update_sleep_when_free"):
        queue.progress_update_sleep_when_free = WakeableDelay(PROGRESS_SLEEP_S)
    return True


def _waking(coroutine_function, shim: _WakeableAsyncio):
    """``coroutine_function`` that wakes the queue loop once it has run."""
    @functools.wraps(coroutine_function)
    async def run_and_wake(*args, **kwargs):
        try:
            return await coroutine_function(*args, **kwargs)
        finally:
            shim.wake()
    return run_and_wake
