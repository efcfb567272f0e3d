"""The Studies page (``?view=studies``): the current project's AutoML studies, newest first, each linking to its page."""
from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from studio.ui.experiment_table import format_time
from studio.ui.navigation import study_url

REFRESH_S = 3.0
COLUMNS = ["Study", "Status", "Objective", "Trials", "Pruned", "Best", "Created"]
HOW_TO = ("An AutoML study searches hyperparameters with optuna (TPE), runs each trial as an experiment, and "
          "stops unpromising trials early. Start one from **New experiment** (switch on **AutoML**) or from a "
          "completed experiment's **…** menu → **AutoML**.")


def build(ctx, view) -> dict:
    gr.Markdown("# Studies")
    gr.Markdown(HOW_TO)
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, show_label=False, elem_id="studies-table",
                         datatype=["markdown", "str", "str", "str", "number", "number", "str"])
    seen = gr.State(-1)
    timer = gr.Timer(REFRESH_S, active=False)

    def draw():
        return _frame(ctx), ctx.changes.version

    def tick(version):
        return (gr.skip(), gr.skip()) if version == ctx.changes.version else draw()

    view.load(draw, None, [table, seen])
    view.on_project_change(draw, None, [table, seen])
    view.poll(timer, tick, [seen], [table, seen],
              live=lambda _params: any(s["status"] == "Running" for s in ctx.studies.list()))
    return {"table": table}


def _frame(ctx) -> pd.DataFrame:
    rows = []
    for study in ctx.studies.list(ctx.current_project()["id"]):
        budget = ctx.studies.settings_of(study).max_trials
        rows.append([f"[{html.escape(study['name'])}](/{study_url(study['id'])})", study["status"],
                     f"{study['direction']} {study['objective']}",
                     f"{study.get('trials_done') or 0}" + (f" / {budget}" if budget else ""),
                     study.get("trials_pruned") or 0,
                     None if study.get("best_value") is None else round(study["best_value"], 4),
                     format_time(study.get("created"))])
    return pd.DataFrame(rows, columns=COLUMNS)
