"""A view does all it draws when shown in one Gradio event (one round trip), in the order wired."""
from __future__ import annotations

import gradio as gr

from studio.ui.view import View


def build_view():
    with gr.Blocks() as demo:
        query = gr.Textbox(visible=False)
        with gr.Tabs():
            with gr.Tab("Other", id="other"):
                gr.Markdown()
            with gr.Tab("Experiment", id="experiment") as tab:
                view = View("experiment", tab, demo, query, [])
                chosen = gr.State(None)
                header = gr.Markdown()
                note = gr.Markdown()
                timer = gr.Timer(1.0, active=False)
                view.load(lambda params: params.get("id"), None, [chosen], params=True).then(
                    lambda exp_id: (f"# {exp_id}", gr.update(visible=True)), [chosen], [header, note]).then(
                    lambda exp_id: gr.update(value=f"shown {exp_id}"), [chosen], [note])
                view.poll(timer, lambda: gr.skip(), [], [note], live=lambda params: params.get("id") == "live")
                view.finish()
    return demo, tab, view, [chosen, header, note, timer]


def events_of(demo, target, event: str) -> list:
    return [fn for fn in demo.fns.values() if (target._id, event) in fn.targets]


def outputs_by_component(fn, values: list) -> dict:
    return dict(zip((c._id for c in fn.outputs), values))


def test_showing_a_view_is_one_event_per_way_of_showing_it():
    demo, tab, view, _ = build_view()
    assert len(events_of(demo, tab, "select")) == 1
    assert len(events_of(demo, view.reshow, "click")) == 1
    assert len(events_of(demo, demo, "load")) == 1
    assert not [fn for fn in demo.fns.values() if fn.trigger_after is not None]  # no .then chain


def test_each_step_reads_what_an_earlier_one_output_and_later_updates_add_to_earlier_ones():
    demo, tab, _, (chosen, header, note, timer) = build_view()
    fn = events_of(demo, tab, "select")[0]
    values = [None] * (len(fn.inputs) - 1)  # the address stands first
    drawn = outputs_by_component(fn, fn.fn(None, "?view=experiment&id=live", *values))
    assert drawn[chosen._id] == "live"
    assert drawn[header._id] == "# live"
    assert drawn[note._id] == {"__type__": "update", "visible": True, "value": "shown live"}
    assert drawn[timer._id].active is True  # armed in the same event: the run is live


def test_a_page_opened_on_another_view_draws_nothing_of_this_one():
    demo, _, _, _ = build_view()
    fn = events_of(demo, demo, "load")[0]
    values = [None] * (len(fn.inputs) - 1)
    assert all(v == gr.skip() for v in fn.fn(None, "?view=other", *values))
