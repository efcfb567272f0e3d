"""The AutoML action of a completed experiment: a study over its settings, opened on the study page."""
from __future__ import annotations

import html

import gradio as gr

from studio.config import ConfigError
from studio.config.study import settings_from_form
from studio.ui import session, study_form
from studio.ui.session import with_session
from studio.ui.navigation import NAVIGATE_JS, study_url


def build(ctx, experiment_id_state) -> dict:
    with gr.Column(visible=False, elem_classes=["studio-modal"], elem_id="automl-dialog") as dialog:
        with gr.Column(elem_classes=["studio-modal-body"]):
            gr.Markdown("### AutoML study\nSearch this experiment's hyperparameters with optuna: each trial runs "
                        "as a connected experiment; trials behind the others are pruned early.")
            about = gr.Markdown(elem_id="automl-about")
            form = study_form.build()
            message = gr.HTML(elem_id="automl-message")
            with gr.Row():
                go = gr.Button("Create study", variant="primary", elem_id="automl-create")
                close = gr.Button("Close", elem_id="automl-close")
    target = gr.Textbox(visible=False)

    def on_open(experiment_id):
        try:
            row = ctx.store.experiments.require(experiment_id)
            metric = ctx.studies.default_objective(ctx.experiments.config_of(row))
        except Exception as exc:
            return gr.update(visible=True), f"⚠ {html.escape(str(exc))}", "", gr.update(interactive=False)
        return (gr.update(visible=True), f"Optimises **{html.escape(metric)}** on validation by default "
                f"(the first metric of **{html.escape(row['name'])}**).", "", gr.update(interactive=True))

    def on_create(experiment_id, *values):
        try:
            settings = settings_from_form(study_form.values_by_path(form["paths"], list(values)))
            study = ctx.studies.create_from_experiment(experiment_id, settings, actor=session.actor(ctx))
        except ConfigError as exc:
            return gr.skip(), errors_html(exc.errors), ""
        except Exception as exc:  # the experiment was deleted, the disk is full
            return gr.skip(), errors_html([str(exc)]), ""
        return gr.update(visible=False), "", study_url(study["id"])

    # once: a double click creates one study, not two.
    created = go.click(with_session(on_create), [experiment_id_state] + form["components"], [dialog, message, target],
                       trigger_mode="once")
    created.then(None, [target], None, js=NAVIGATE_JS)
    close.click(lambda: gr.update(visible=False), None, [dialog])
    return {"dialog": dialog, "open": on_open, "open_outputs": [dialog, about, message, go], "launched": created}


def errors_html(errors: list[str]) -> str:
    items = "".join(f"<li>{html.escape(e)}</li>" for e in errors)
    return f"<div class='config-errors'><b>Fix these study settings:</b><ul>{items}</ul></div>"
