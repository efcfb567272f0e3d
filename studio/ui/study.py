"""The study page (``?view=study&study=<id>``): status and budget, Stop/Resume/Delete, trials, the best
trial, charts."""
from __future__ import annotations

import html
import logging
import time

import gradio as gr
import pandas as pd

from studio.services.access_policy import may_change
from studio.ui import session, study_charts, study_delete
from studio.ui.session import with_session
from studio.ui.navigation import NAVIGATE_JS, copy_experiment_url, experiment_url, view_url

log = logging.getLogger(__name__)
REFRESH_S = 3.0
TRIAL_COLUMNS = ["Trial", "Experiment", "Status", "Params", "Value", "Runtime"]


def build(ctx, view) -> dict:
    study_id = gr.State(None)
    seen = gr.State(None)
    header = gr.Markdown("# Study", elem_id="study-header")
    with gr.Row():
        stop = gr.Button("Stop study", size="sm", scale=0, min_width=120, visible=False, elem_id="study-stop")
        resume = gr.Button("Resume study", size="sm", scale=0, min_width=120, visible=False, elem_id="study-resume")
        use = gr.Button("Use these settings", size="sm", scale=0, min_width=160, variant="primary", visible=False,
                        elem_id="study-use-best")
        delete = gr.Button("Delete study…", size="sm", scale=0, min_width=120, variant="stop", visible=False,
                           elem_id="study-delete")
    message = gr.Markdown(elem_id="study-message")
    best = gr.Markdown(elem_id="study-best")
    gr.Markdown("### Trials")
    gr.Markdown("Click a trial to open its experiment.", elem_classes=["studio-muted"])
    # Row clicks navigate in this tab (a link in a Dataframe cell would open a new one).
    trials = gr.Dataframe(headers=TRIAL_COLUMNS, interactive=False, wrap=True, show_label=False,
                          elem_id="study-trials")
    trial_ids = gr.State([])
    charts = {}
    for pair in (study_charts.CHARTS[:2], study_charts.CHARTS[2:]):
        with gr.Row():
            for name in pair:
                charts[name] = gr.Plot(show_label=False, elem_id=f"study-chart-{name}")
    deleting = study_delete.build(ctx, "study")
    target = gr.Textbox(visible=False)
    timer = gr.Timer(REFRESH_S, active=False)
    outputs = [study_id, seen, header, stop, resume, use, delete, best, trials, trial_ids] + \
        [charts[n] for n in study_charts.CHARTS]

    def draw(chosen: str | None, last=None) -> list:
        row = ctx.studies.get(chosen) if chosen else None
        if row is None or not ctx.projects.sees(session.actor(ctx), row):
            return [chosen, None, f"# Study\n\n⚠️ There is no study {html.escape(str(chosen or ''))!s}. "
                    f"See [all studies](/{view_url('studies')}).", gr.update(visible=False), gr.update(visible=False),
                    gr.update(visible=False), gr.update(visible=False), "", None, []] + \
                [None] * len(study_charts.CHARTS)
        try:
            rows = ctx.studies.trials(chosen)
            key = [row.get("status"), row.get("updated"), [(t.number, t.status) for t in rows]]
            if key == last:
                return [gr.skip()] * len(outputs)
            top = ctx.studies.best(chosen)
            figures = study_charts.figures(ctx.studies.optuna_study(chosen))
        except Exception:
            log.exception("drawing study %s", chosen)
            return [chosen, None, f"# {html.escape(row['name'])}\n\n⚠️ This study's trials could not be read "
                    "(see the app log)."] + [gr.skip()] * (len(outputs) - 3)
        running = row["status"] == "Running"
        mine = may_change(session.actor(ctx), row)  # Stop, Resume and Delete: its owner or an admin
        return [chosen, key, _header(ctx, row), gr.update(visible=mine and running),
                gr.update(visible=mine and not running),
                gr.update(visible=top is not None), gr.update(visible=mine), _best(row, top), _trial_frame(rows),
                [t.experiment_id for t in rows]] + \
            [figures[n] for n in study_charts.CHARTS]

    def on_load(params: dict):
        return draw(params.get("study"))

    def tick(chosen, last):
        return draw(chosen, last)

    def on_stop(chosen):
        return _control(lambda study_id: ctx.studies.stop(study_id, session.actor(ctx)), chosen, "Stopped: no new trials; its running trials are being stopped.")

    def on_resume(chosen):
        return _control(lambda study_id: ctx.studies.resume(study_id, session.actor(ctx)), chosen, "Resumed: new trials are queued as slots free up.")

    def on_trial_select(evt: gr.SelectData, shown):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        chosen = shown[row] if isinstance(row, int) and 0 <= row < len(shown) else None
        return experiment_url(chosen) if chosen else ""

    def on_use(chosen):
        top = ctx.studies.best(chosen) if chosen else None
        return copy_experiment_url(top.experiment_id) if top else ""

    view.load(on_load, None, outputs, params=True)
    view.poll(timer, tick, [study_id, seen], outputs, live=lambda p: _live(ctx, p.get("study")))
    stop.click(with_session(on_stop), [study_id], [message]).then(with_session(draw), [study_id], outputs)
    view.rearm(resume.click(with_session(on_resume), [study_id], [message]).then(with_session(draw), [study_id],
                                                                                  outputs))
    use.click(on_use, [study_id], [target]).then(None, [target], None, js=NAVIGATE_JS)
    delete.click(deleting["ask"], [study_id], deleting["ask_outputs"])
    deleting["yes"].click(deleting["confirm"], deleting["confirm_inputs"], deleting["confirm_outputs"]).then(
        lambda done: view_url("studies") if done else "", [deleting["done"]], [target]).then(
        None, [target], None, js=NAVIGATE_JS)
    trials.select(on_trial_select, [trial_ids], [target]).then(None, [target], None, js=NAVIGATE_JS)
    return {"header": header, "trials": trials}


def _live(ctx, chosen: str | None) -> bool:
    row = ctx.studies.get(chosen) if chosen else None
    return bool(row) and (row["status"] == "Running" or any(
        t.status not in ("Completed", "Failed", "Stopped", "Pruned") for t in ctx.studies.trials(chosen)))


def _control(action, chosen, done: str) -> str:
    try:
        action(chosen)
    except Exception as exc:  # StudyError: a rule the user can act on
        return f"⚠️ {exc}"
    return done


def _header(ctx, row: dict) -> str:
    settings = ctx.studies.settings_of(row)
    budget = []
    if settings.max_trials is not None:
        budget.append(f"{settings.max_trials} trials")
    if settings.time_limit_minutes is not None:
        budget.append(f"{settings.time_limit_minutes:g} min")
    if settings.gpu_hours_limit is not None:
        budget.append(f"{settings.gpu_hours_limit:g} GPU hours")
    gpu_hours = f"GPU hours used: {ctx.studies.gpu_hours_used(row['id']):.2f}" + \
        (f" of {settings.gpu_hours_limit:g}" if settings.gpu_hours_limit is not None else "")
    source = ""
    if row.get("source_id") and ctx.store.experiments.get(row["source_id"]):
        source = f" · from [{html.escape(ctx.store.experiments.get(row['source_id'])['name'])}]" \
                 f"(/{experiment_url(row['source_id'])})"
    lines = [f"# {html.escape(row['name'])}",
             f"<span class='badge badge-{row['status']}'>{row['status']}</span> "
             f"{row['direction']} **{html.escape(row['objective'])}** · budget {' and '.join(budget)} · "
             f"{settings.concurrent_trials} at once · pruner {settings.pruner} · "
             f"{_minutes(ctx.studies.elapsed_s(row))} used{source}",
             f"{gpu_hours} · searches {html.escape(', '.join(ctx.studies.searched(row)))}."]
    if row.get("error"):
        lines.append(f"⚠️ {html.escape(row['error'])}")
    return "\n\n".join(lines)


def _best(row: dict, top) -> str:
    if top is None:
        return "**Best trial:** none completed yet."
    params = ", ".join(f"{k} = {_value(v)}" for k, v in top.params.items())
    return (f"**Best trial:** #{top.number} [{html.escape(top.experiment_name)}](/{experiment_url(top.experiment_id)}) "
            f"— {html.escape(row['objective'])} **{top.value:.4g}** with {html.escape(params)}")


def _trial_frame(rows) -> pd.DataFrame:
    data = [[t.number, t.experiment_name, t.status, ", ".join(f"{k}={_value(v)}" for k, v in t.params.items()),
             None if t.value is None else round(t.value, 4), _minutes(t.runtime_s)] for t in rows]
    return pd.DataFrame(data, columns=TRIAL_COLUMNS)


def _value(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _minutes(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(max(0.0, seconds)))
