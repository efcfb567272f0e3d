"""A list redraw that started before a newer one of the same tab draws nothing (no stale table)."""
from __future__ import annotations

import contextvars
from types import SimpleNamespace

from studio.ui import session
from studio.ui.newest_draw import NewestDraw


def in_tab(tab: str, fn):
    """Run ``fn`` as a handler of browser session ``tab`` would."""
    def run():
        session._REQUEST.set(SimpleNamespace(session_hash=tab, username=None))
        return fn()
    return contextvars.copy_context().run(run)


def test_the_draw_overtaken_by_a_newer_one_of_its_tab_is_dropped():
    redraws = NewestDraw()
    stale_tick = in_tab("tab-1", redraws.take)  # a tick sent with the old search text
    typed = in_tab("tab-1", redraws.take)       # the search the user typed starts before it ends
    assert in_tab("tab-1", lambda: redraws.is_newest(typed))
    assert not in_tab("tab-1", lambda: redraws.is_newest(stale_tick))


def test_other_tabs_do_not_overtake_each_other():
    redraws = NewestDraw()
    first = in_tab("tab-1", redraws.take)
    in_tab("tab-2", redraws.take)
    assert in_tab("tab-1", lambda: redraws.is_newest(first))


def test_a_draw_outside_any_session_always_draws():
    redraws = NewestDraw()
    taken = redraws.take()
    redraws.take()
    assert redraws.is_newest(taken)


def test_a_handler_gradio_runs_unwrapped_is_keyed_by_gradios_own_request():
    from gradio.context import LocalContext

    redraws = NewestDraw()

    def take_in(tab):
        def run():
            LocalContext.request.set(SimpleNamespace(session_hash=tab, username=None))
            return redraws.take()
        return contextvars.copy_context().run(run)

    stale, fresh = take_in("tab-1"), take_in("tab-1")
    assert redraws.is_newest(fresh) and not redraws.is_newest(stale)
