"""The Ask KGM dialog of the experiment page: the recommendation, its evidence, and Proceed.

Opening it shows KGM's own recommendation at once (studio.services.kgm.ask, offline). When
Settings name a KGM language model, a second step asks it (studio.services.kgm.ask_language_model):
its phrasing replaces the explanation, and an extra suggestion that passed the schema and the
"not already run" check gets its own Proceed button. Proceed launches the suggestion as a
connected experiment, with the explanation stored on it, and opens that experiment's page.
"""
from __future__ import annotations

import html

import gradio as gr

from studio.config import ConfigError
from studio.services import kgm
from studio.ui import session
from studio.ui.navigation import NAVIGATE_JS, experiment_url

NOTHING_TO_CHANGE = "# nothing to change in the settings: see the advice above"


def build_kgm_dialog(ctx, experiment_id_state, target, modal) -> dict:
    """``modal(elem_id)`` builds the page's modal column; returns {"dialog", "open", "open_outputs", "refine"}."""
    with modal("kgm-dialog") as dialog:
        with gr.Column(elem_classes=["studio-modal-body"]):
            gr.Markdown("### Ask KGM\n**KGM** (\"Kaggle Grandmaster\") is Studio's advisor: it reads this run's "
                        "status and curves, the project's other runs on the same data, the model registry and the "
                        "run's cost, and proposes the next experiment with the evidence it used. Nothing runs until "
                        "you press Proceed.", elem_id="kgm-explained")
            title = gr.Markdown(elem_id="kgm-title")
            explanation = gr.Markdown(elem_id="kgm-explanation")
            overrides = gr.Code(language="yaml", interactive=False, label="Suggested changes",
                                elem_id="kgm-overrides")
            model_note = gr.Markdown(visible=False, elem_id="kgm-model-note")
            with gr.Column(visible=False, elem_id="kgm-extra") as extra_box:
                extra_title = gr.Markdown(elem_id="kgm-extra-title")
                extra_explanation = gr.Markdown(elem_id="kgm-extra-explanation")
                extra_overrides = gr.Code(language="yaml", interactive=False, label="Its changes",
                                          elem_id="kgm-extra-overrides")
                go_extra = gr.Button("Proceed with this one instead", elem_id="kgm-proceed-extra")
            message = gr.Markdown(elem_id="kgm-message")
            with gr.Row():
                go = gr.Button("Proceed", variant="primary", elem_id="kgm-proceed")
                close = gr.Button("Close", elem_id="kgm-close")
    suggestion = gr.State(None)
    extra = gr.State(None)

    def on_open(experiment_id):
        try:
            recommendation = kgm.ask(ctx.experiments, experiment_id)
        except Exception as exc:  # a row or config that cannot be read: say so in the dialog
            return gr.update(visible=True), "", "", "", f"⚠ No recommendation: {exc}", None, \
                gr.update(interactive=False), gr.update(visible=False), gr.update(visible=False), None
        asking = kgm.language_model_configured(ctx.experiments)
        changes = kgm.overrides_yaml(recommendation) if recommendation.launchable else NOTHING_TO_CHANGE
        return (gr.update(visible=True), f"#### {html.escape(recommendation.title)}",
                kgm.explanation_markdown(recommendation), changes, "",
                kgm.as_state(recommendation) if recommendation.launchable else None,
                gr.update(interactive=recommendation.launchable),
                gr.update(visible=asking, value="_Asking the language model for its view…_"),
                gr.update(visible=False), None)

    def on_refine(request: gr.Request, experiment_id, state):
        skip = [gr.skip()] * 8
        if not experiment_id or not kgm.language_model_configured(ctx.experiments):
            return skip
        try:
            shown = state or kgm.as_state(kgm.ask(ctx.experiments, experiment_id))
            refined = kgm.ask_language_model(ctx.experiments, experiment_id, shown,
                                             actor=session.actor(ctx, request))
        except Exception as exc:  # the row went away meanwhile; the client's own errors are caught inside
            return [gr.skip(), gr.update(visible=True, value=f"⚠ {html.escape(str(exc))}")] + skip[2:]
        if refined is None:
            return skip
        notes = "\n".join(f"- {html.escape(note)}" for note in refined.notes)
        offer = refined.extra
        return [kgm.explanation_markdown(refined.recommendation),
                gr.update(visible=bool(notes), value=notes),
                gr.update(visible=offer is not None),
                f"#### Also worth a try: {html.escape(offer.title)}" if offer else "",
                kgm.explanation_markdown(offer) if offer else "",
                kgm.overrides_yaml(offer) if offer else "",
                # A recommendation with nothing to launch stays unlaunchable, however it is phrased.
                kgm.as_state(refined.recommendation) if state else gr.skip(),
                kgm.as_state(offer) if offer else None]

    def launch(request: gr.Request, experiment_id, state):
        if not state:
            return gr.skip(), "⚠ Ask again: there is no recommendation to launch.", gr.skip()
        try:
            created = kgm.proceed(ctx.experiments, experiment_id, state, actor=session.actor(ctx, request))
        except ConfigError as exc:
            return gr.skip(), "⚠ The suggested experiment is not valid:\n" + "\n".join(
                f"- {e}" for e in exc.errors), gr.skip()
        except Exception as exc:  # runner/store errors carry their own reason
            return gr.skip(), f"⚠ Could not launch it: {exc}", gr.skip()
        # The new experiment opens in this same view, so the dialog must close itself.
        return experiment_url(created["id"]), f"Launched **{html.escape(created['name'])}**.", \
            gr.update(visible=False)

    refine_outputs = [explanation, model_note, extra_box, extra_title, extra_explanation, extra_overrides,
                      suggestion, extra]
    go.click(launch, [experiment_id_state, suggestion], [target, message, dialog]).then(
        None, [target], None, js=NAVIGATE_JS)
    go_extra.click(launch, [experiment_id_state, extra], [target, message, dialog]).then(
        None, [target], None, js=NAVIGATE_JS)
    close.click(lambda: gr.update(visible=False), None, [dialog])
    return {"dialog": dialog, "open": on_open,
            "open_outputs": [dialog, title, explanation, overrides, message, suggestion, go, model_note, extra_box,
                             extra],
            "refine": on_refine, "refine_inputs": [experiment_id_state, suggestion], "refine_outputs": refine_outputs}
