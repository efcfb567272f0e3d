"""The Studies page (``?view=studies``): the current project's AutoML studies, newest first, each linking
to its page, each deletable (by its owner or an admin) from its Delete cell."""
from __future__ import annotations

import gradio as gr
import pandas as pd

from studio.services.access_policy import may_change
from studio.ui import session, study_delete
from studio.ui.experiment_table import format_time
from studio.ui.navigation import NAVIGATE_JS, study_url
from studio.ui.session import with_session, with_session_select

REFRESH_S = 3.0
DELETE_CELL = "🗑 Delete"
COLUMNS = ["Study", "Status", "Objective", "Trials", "Pruned", "Best", "Created", ""]
HOW_TO = ("An AutoML study searches hyperparameters with optuna (TPE), runs each trial as an experiment, and "
          "stops unpromising trials early. Start one from **New experiment** (switch on **AutoML**) or from a "
          "completed experiment's **…** menu → **AutoML**.")


def build(ctx, view) -> dict:
    gr.Markdown("# Studies")
    gr.Markdown(HOW_TO + " Click a study to open it, or its **Delete** cell to delete it.")
    # A click on a row opens its study in this tab (a link in a Dataframe cell would open a new one).
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, show_label=False, elem_id="studies-table")
    ids = gr.State([])
    seen = gr.State(-1)
    deleting = study_delete.build(ctx, "studies")
    target = gr.Textbox(visible=False)
    timer = gr.Timer(REFRESH_S, active=False)

    def draw():
        studies = ctx.studies.list(session.current_project(ctx)["id"])
        return _frame(ctx, studies), [s["id"] for s in studies], ctx.changes.version

    def tick(version):
        return (gr.skip(), gr.skip(), gr.skip()) if version == ctx.changes.version else draw()

    def on_select(evt: gr.SelectData, shown):
        row, column = evt.index if isinstance(evt.index, (list, tuple)) else (evt.index, None)
        if not (isinstance(row, int) and 0 <= row < len(shown)):
            return [""] + [gr.skip()] * len(deleting["ask_outputs"])
        if column == len(COLUMNS) - 1 and evt.value == DELETE_CELL:
            return [""] + deleting["ask"](shown[row])
        return [study_url(shown[row])] + [gr.skip()] * len(deleting["ask_outputs"])

    view.load(draw, None, [table, ids, seen])
    view.on_project_change(draw, None, [table, ids, seen])
    view.poll(timer, tick, [seen], [table, ids, seen],
              live=lambda _params: any(s["status"] == "Running" for s in ctx.studies.list()))
    table.select(with_session_select(on_select), [ids], [target] + deleting["ask_outputs"]).then(
        None, [target], None, js=NAVIGATE_JS)
    deleting["yes"].click(deleting["confirm"], deleting["confirm_inputs"], deleting["confirm_outputs"]).then(
        with_session(draw), None, [table, ids, seen])
    return {"table": table}


def _frame(ctx, studies: list[dict]) -> pd.DataFrame:
    rows = []
    actor = session.actor(ctx)
    for study in studies:
        budget = ctx.studies.settings_of(study).max_trials
        rows.append([study["name"], study["status"],
                     f"{study['direction']} {study['objective']}",
                     f"{study.get('trials_done') or 0}" + (f" / {budget}" if budget else ""),
                     study.get("trials_pruned") or 0,
                     None if study.get("best_value") is None else round(study["best_value"], 4),
                     format_time(study.get("created")), DELETE_CELL if may_change(actor, study) else ""])
    return pd.DataFrame(rows, columns=COLUMNS)
