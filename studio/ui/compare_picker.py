"""The experiment page's "Compare with…" tab: pick other runs of the project and open the Compare page."""
from __future__ import annotations

import gradio as gr

from studio.services.compare import MAX_RUNS
from studio.ui.navigation import NAVIGATE_JS, compare_url


def build(ctx, experiment_id: gr.State) -> dict:
    others = gr.Dropdown(label=f"Experiments to compare with (up to {MAX_RUNS - 1})", choices=[], multiselect=True,
                         max_choices=MAX_RUNS - 1, elem_id="compare-with-choices")
    button = gr.Button("Compare", variant="primary", scale=0, min_width=120, elem_id="compare-with")
    target = gr.Textbox(visible=False)

    def on_load(exp_id):
        return gr.Dropdown(choices=ctx.compare.candidates(exp_id) if exp_id else [], value=[])

    def on_compare(exp_id, chosen):
        if not chosen:
            gr.Warning("Choose at least one experiment to compare with.")
            return ""
        return compare_url([exp_id] + list(chosen))

    button.click(on_compare, [experiment_id, others], [target]).then(None, [target], None, js=NAVIGATE_JS)
    return {"load": on_load, "inputs": [experiment_id], "outputs": [others]}
