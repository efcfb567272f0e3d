"""The Studies page (``?view=studies``): the current project's AutoML studies, newest first, each linking to its page."""
from __future__ import annotations

import gradio as gr
import pandas as pd

from studio.ui.experiment_table import format_time
from studio.ui.navigation import NAVIGATE_JS, study_url

REFRESH_S = 3.0
COLUMNS = ["Study", "Status", "Objective", "Trials", "Pruned", "Best", "Created"]
HOW_TO = ("An AutoML study searches hyperparameters with optuna (TPE), runs each trial as an experiment, and "
          "stops unpromising trials early. Start one from **New experiment** (switch on **AutoML**) or from a "
          "completed experiment's **…** menu → **AutoML**.")


def build(ctx, view) -> dict:
    gr.Markdown("# Studies")
    gr.Markdown(HOW_TO + " Click a study to open it.")
    # A click on a row opens its study in this tab (a link in a Dataframe cell would open a new one).
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, show_label=False, elem_id="studies-table")
    ids = gr.State([])
    seen = gr.State(-1)
    target = gr.Textbox(visible=False)
    timer = gr.Timer(REFRESH_S, active=False)

    def draw():
        studies = ctx.studies.list(ctx.current_project()["id"])
        return _frame(ctx, studies), [s["id"] for s in studies], ctx.changes.version

    def tick(version):
        return (gr.skip(), gr.skip(), gr.skip()) if version == ctx.changes.version else draw()

    def on_select(evt: gr.SelectData, shown):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return study_url(shown[row]) if isinstance(row, int) and 0 <= row < len(shown) else ""

    view.load(draw, None, [table, ids, seen])
    view.on_project_change(draw, None, [table, ids, seen])
    view.poll(timer, tick, [seen], [table, ids, seen],
              live=lambda _params: any(s["status"] == "Running" for s in ctx.studies.list()))
    table.select(on_select, [ids], [target]).then(None, [target], None, js=NAVIGATE_JS)
    return {"table": table}


def _frame(ctx, studies: list[dict]) -> pd.DataFrame:
    rows = []
    for study in studies:
        budget = ctx.studies.settings_of(study).max_trials
        rows.append([study["name"], study["status"],
                     f"{study['direction']} {study['objective']}",
                     f"{study.get('trials_done') or 0}" + (f" / {budget}" if budget else ""),
                     study.get("trials_pruned") or 0,
                     None if study.get("best_value") is None else round(study["best_value"], 4),
                     format_time(study.get("created"))])
    return pd.DataFrame(rows, columns=COLUMNS)
