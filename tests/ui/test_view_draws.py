"""When a view draws: on a page load of its own address, and when the user or the app moves to it;
all it draws when shown runs in one event.

Gradio selects tabs by itself while the page opens (the first tab on mount, then the address's
tab); those selects arrive with ``UNMOVED`` (assets/js/router.js has not seen a move yet) and must
not draw the view again: on a busy machine the second draw came seconds after the first and
overwrote what the user had typed meanwhile (a Settings price saved as 0, the CI failure of
tests/ui/test_browser_flows.py).
"""
from __future__ import annotations

import gradio as gr
import pytest

from studio.ui.view import SELECT_JS, UNMOVED, View


def _view_with_steps():
    calls = []
    with gr.Blocks() as demo:
        query = gr.Textbox(visible=False)
        with gr.Tabs():
            with gr.Tab("Settings", id="settings") as tab:
                view = View("settings", tab, demo, query, [])
                shown = gr.Textbox()
                echo = gr.Textbox()
                timer = gr.Timer(1.0, active=False)
                view.load(lambda: calls.append("draw") or "drawn", None, [shown]).then(
                    lambda seen: calls.append(f"step saw {seen}") or ("stepped", seen), [shown], [shown, echo])
                view.poll(timer, lambda: None, [], [], live=lambda params: params.get("live") == "1")
                view.finish()
    by_trigger = {}
    for fn in demo.fns.values():
        by_trigger.setdefault(fn.targets[0][1], []).append(fn)
    return by_trigger, calls


def _values(result) -> list:
    return [value.get("active") if isinstance(value, gr.Timer) else value for value in result]


def test_one_event_per_way_of_showing_the_view():
    events, _calls = _view_with_steps()
    assert len(events["load"]) == len(events["select"]) == len(events["click"]) == 1
    assert "then" not in events


def test_a_select_gradio_makes_while_the_page_opens_draws_nothing():
    events, calls = _view_with_steps()
    select = events["select"][0]
    assert select.js == SELECT_JS
    assert select.fn(None, UNMOVED, None) == [gr.skip()] * 3
    assert calls == []


def test_a_move_runs_every_step_in_order_and_a_step_reads_what_an_earlier_one_drew():
    events, calls = _view_with_steps()
    result = events["select"][0].fn(None, "?view=settings&live=1", None)
    assert calls == ["draw", "step saw drawn"]
    assert result[:2] == ["stepped", "drawn"]
    assert result[2].active is True  # the timers are armed last, from the address
    assert events["click"][0].fn(None, "?view=settings", None)[2].active is False  # the hidden re-show button


def test_a_page_load_draws_only_the_view_it_opened_on():
    events, calls = _view_with_steps()
    assert events["load"][0].fn(None, "?view=home", None) == [gr.skip()] * 3
    assert events["load"][0].fn(None, "?view=settings", None)[0] == "stepped"
    assert calls == ["draw", "step saw drawn"]


def test_a_step_that_fails_costs_only_its_own_outputs(caplog):
    with gr.Blocks() as demo:
        query = gr.Textbox(visible=False)
        with gr.Tabs():
            with gr.Tab("Settings", id="settings") as tab:
                view = View("settings", tab, demo, query, [])
                broken, fine = gr.Textbox(), gr.Textbox()
                view.load(lambda: 1 / 0, None, [broken]).then(lambda: "drawn", None, [fine])
                view.finish()
    select = next(fn for fn in demo.fns.values() if fn.targets[0][1] == "select")
    with pytest.warns(UserWarning, match="could not be drawn"):  # gr.Warning, outside a request
        assert select.fn(None, "?view=settings") == [gr.skip(), "drawn"]
    assert "ZeroDivisionError" in caplog.text
