"""When a view draws: on a page load of its own address, and when the user or the app moves to it.

Gradio selects tabs by itself while the page opens (the first tab on mount, then the address's
tab); those selects arrive with ``UNMOVED`` (assets/js/router.js has not seen a move yet) and must
not draw the view again: on a busy machine the second draw came seconds after the first and
overwrote what the user had typed meanwhile (a Settings price saved as 0, the CI failure of
tests/ui/test_browser_flows.py).
"""
from __future__ import annotations

import gradio as gr

from studio.ui.view import SELECT_JS, UNMOVED, View


def _view_with_a_chain():
    calls = []
    with gr.Blocks() as demo:
        query = gr.Textbox(visible=False)
        with gr.Tabs():
            with gr.Tab("Settings", id="settings") as tab:
                view = View("settings", tab, demo, query, [])
                shown = gr.Textbox()
                view.load(lambda: calls.append("draw") or "drawn", None, [shown]).then(
                    lambda: calls.append("step") or "stepped", None, [shown])
    by_trigger = {}
    for fn in demo.fns.values():
        trigger = fn.targets[0][1]
        parent = demo.fns[fn.trigger_after].targets[0][1] if fn.trigger_after is not None else None
        by_trigger[(parent, trigger)] = fn
    return by_trigger, calls


def test_a_select_gradio_makes_while_the_page_opens_draws_nothing():
    events, calls = _view_with_a_chain()
    assert events[(None, "select")].js == SELECT_JS
    assert events[(None, "select")].fn(None, UNMOVED) == gr.skip()
    assert events[("select", "then")].fn(None, UNMOVED) == gr.skip()
    assert calls == []


def test_a_move_to_the_view_draws_it_and_runs_its_chain():
    events, calls = _view_with_a_chain()
    assert events[(None, "select")].fn(None, "?view=settings") == "drawn"
    assert events[("select", "then")].fn(None, "?view=settings") == "stepped"
    assert events[(None, "click")].fn(None, "?view=settings") == "drawn"  # the hidden re-show button
    assert calls == ["draw", "step", "draw"]


def test_a_page_load_draws_only_the_view_it_opened_on():
    events, calls = _view_with_a_chain()
    assert events[(None, "load")].fn(None, "?view=home") == gr.skip()
    assert events[(None, "load")].fn(None, "?view=settings") == "drawn"
    assert calls == ["draw"]
