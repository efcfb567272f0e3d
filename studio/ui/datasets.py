"""Datasets page: upload, list, preview with profile, delete, and New experiment from a dataset."""
from __future__ import annotations

import html
from pathlib import Path

import gradio as gr
import pandas as pd

from studio.datasets import DatasetError
from studio.services.access_policy import AccessDenied
from studio.ui import session
from studio.ui.session import with_session
from studio.ui.dataset_thumbnails import dataset_thumbnails_html
from studio.ui.experiment_table import format_time
from studio.ui.navigation import NAVIGATE_JS, new_experiment_url
from studio.services.experiments import SUGGESTED_KEYS

UPLOAD_TYPES = [".csv", ".parquet", ".json", ".jsonl", ".zip"]
PREVIEW_ROWS = 20


def build(ctx, view) -> dict:
    gr.Markdown("# Datasets")
    with gr.Accordion("Upload a dataset", open=True):
        with gr.Row(equal_height=True):
            upload = gr.File(label="CSV, Parquet, JSON, JSONL or ZIP (images + annotations)",
                             file_types=UPLOAD_TYPES, scale=2, elem_id="dataset-upload")
            with gr.Column(scale=1):
                name = gr.Textbox(label="Dataset name", placeholder="defaults to the file name",
                                  elem_id="dataset-name")
                import_button = gr.Button("Import", variant="primary", elem_id="dataset-import")
        upload_message = gr.Markdown(elem_id="dataset-upload-message")
    with gr.Row(visible=False, elem_id="datasets-empty", elem_classes=["empty-state"]) as empty:
        gr.Markdown("### No datasets in this project yet\nUpload a CSV, Parquet, JSON, JSONL or ZIP file above, "
                    "or start with the demo: instructions and answers for a Causal LM (chatbot) experiment.")
        demo_button = gr.Button("Import the demo dataset", variant="primary", scale=0, min_width=220,
                                elem_id="import-demo-dataset")
    table = gr.Dataframe(interactive=False, show_label=False, elem_id="datasets-table", wrap=True)
    ids = gr.State([])
    selected = gr.State(None)
    target = gr.Textbox(visible=False)
    with gr.Column(visible=False) as detail:
        detail_title = gr.Markdown(elem_id="dataset-title")
        with gr.Row():
            new_experiment = gr.Button("New experiment", variant="primary", scale=0, min_width=160,
                                       elem_id="dataset-new-experiment")
            delete = gr.Button("Delete dataset", variant="stop", scale=0, min_width=160, elem_id="dataset-delete")
        with gr.Tabs():
            with gr.Tab("Preview"):
                thumbnails = gr.HTML(elem_id="dataset-thumbnails")
                rows = gr.Dataframe(interactive=False, show_label=False, wrap=True, elem_id="dataset-preview")
            with gr.Tab("Profile"):
                profile = gr.Markdown(elem_id="dataset-profile")
    with gr.Column(visible=False, elem_classes=["studio-modal", "small"]) as confirm:
        with gr.Column(elem_classes=["studio-modal-body"]):
            confirm_text = gr.Markdown()
            with gr.Row():
                confirm_yes = gr.Button("Delete", variant="stop", elem_id="dataset-confirm-delete")
                confirm_no = gr.Button("Cancel")

    def draw():
        project_id = session.current_project(ctx)["id"]
        datasets = ctx.datasets.list(project_id)
        frame = pd.DataFrame([{
            "Name": d.get("name"), "Dataset ID": d["id"], "Rows": d.get("rows"),
            "Columns": ", ".join(d.get("columns") or []), "Format": d.get("format"),
            "Created": format_time(d.get("created")),
        } for d in datasets], columns=["Name", "Dataset ID", "Rows", "Columns", "Format", "Created"])
        return gr.update(value=frame, visible=bool(datasets)), [d["id"] for d in datasets], \
            gr.update(visible=not datasets)

    def show(dataset_id):
        row = ctx.datasets.get(dataset_id)
        if row is None:
            return gr.update(visible=False), "", None, "", "", gr.skip()
        try:
            frame, profile_data = ctx.datasets.show(dataset_id, PREVIEW_ROWS)
            summary = _profile_md(profile_data)
        except DatasetError as exc:
            frame, summary = None, f"⚠ {exc}"
        title = f"## {html.escape(row['name'])}\n<span class='studio-muted'>`{row['id']}` · {row.get('rows')} rows · " \
                f"{html.escape(row.get('filename') or '')}</span>"
        return gr.update(visible=True), title, frame, summary, dataset_thumbnails_html(dataset_id, ctx.home), \
            gr.update(visible=ctx.datasets.may_delete(dataset_id, session.actor(ctx)))

    def on_upload(file, given_name):
        if file is None:
            return "Choose a file first.", gr.skip(), gr.skip(), gr.skip(), gr.skip()
        path = Path(file if isinstance(file, str) else file.name)
        try:
            row = ctx.datasets.import_upload(path, path.name, given_name, session.current_project(ctx)["id"],
                                             session.actor(ctx))
        except (DatasetError, AccessDenied) as exc:
            return f"⚠ {html.escape(str(exc))}", gr.skip(), gr.skip(), gr.skip(), gr.skip()
        ctx.changes.bump()
        return (f"Imported **{html.escape(row['name'])}**: {row['rows']} rows.", *draw(), row["id"])

    def on_demo():
        try:
            row = ctx.datasets.import_demo(session.current_project(ctx)["id"], session.actor(ctx))
        except (DatasetError, AccessDenied) as exc:
            return f"⚠ {html.escape(str(exc))}", gr.skip(), gr.skip(), gr.skip(), gr.skip()
        ctx.changes.bump()
        return (f"Imported the demo dataset **{html.escape(row['name'])}**: {row['rows']} rows. "
                "Press **New experiment** below to train on it.", *draw(), row["id"])

    def on_select(evt: gr.SelectData, dataset_ids):
        if not evt.index or evt.index[0] >= len(dataset_ids):
            return gr.skip()
        return dataset_ids[evt.index[0]]

    def ask_delete(dataset_id):
        row = ctx.datasets.get(dataset_id)
        if row is None:
            return gr.skip(), gr.skip(), gr.skip()
        users = ctx.datasets.users(dataset_id)
        if users:
            names = ", ".join(f"**{html.escape(u.get('name') or u['id'])}**" for u in users[:5])
            more = f" and {len(users) - 5} more" if len(users) > 5 else ""
            text = (f"### Cannot delete {html.escape(row['name'])}\n\nIt is used by {len(users)} experiment(s): "
                    f"{names}{more}. Delete those experiments first; their reruns and copies need this data.")
            return gr.update(visible=True), text, gr.update(visible=False)
        return gr.update(visible=True), f"### Delete {html.escape(row['name'])}?\n\nIts imported data is " \
            "removed for good.", gr.update(visible=True)

    def do_delete(dataset_id):
        try:
            ctx.datasets.delete(dataset_id, session.actor(ctx))
        except (DatasetError, AccessDenied) as exc:  # shown in the dialog, which stays open
            return gr.update(visible=True), gr.update(value=f"### Cannot delete\n\n⚠ {html.escape(str(exc))}"), \
                gr.update(visible=False), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        ctx.changes.bump()
        return gr.update(visible=False), gr.skip(), gr.skip(), *draw(), None

    listed = [table, ids, empty]
    view.load(draw, None, listed)
    view.on_project_change(lambda: (*draw(), None), None, listed + [selected])
    upload.upload(lambda file: Path(file if isinstance(file, str) else file.name).stem if file else "",
                  [upload], [name])
    import_button.click(with_session(on_upload), [upload, name], [upload_message] + listed + [selected])
    demo_button.click(with_session(on_demo), None, [upload_message] + listed + [selected])
    table.select(on_select, [ids], [selected])
    selected.change(with_session(show), [selected], [detail, detail_title, rows, profile, thumbnails, delete])
    new_experiment.click(lambda dataset_id: new_experiment_url(dataset_id) if dataset_id else "",
                         [selected], [target]).then(None, [target], None, js=NAVIGATE_JS)
    delete.click(ask_delete, [selected], [confirm, confirm_text, confirm_yes])
    confirm_no.click(lambda: gr.update(visible=False), None, [confirm])
    confirm_yes.click(with_session(do_delete), [selected], [confirm, confirm_text, confirm_yes] + listed + [selected])
    return {"table": table, "upload": upload, "detail": detail}


def _profile_md(profile: dict) -> str:
    lines = [f"**{profile.get('rows', 0)} rows**, {len(profile.get('columns') or [])} columns.", "",
             "| Column | Kind | Type | Missing | Unique |", "|---|---|---|---|---|"]
    for column in profile.get("columns") or []:
        lines.append(f"| {html.escape(str(column.get('name')))} | {column.get('kind')} | {column.get('dtype')} | "
                     f"{column.get('nulls')} | {column.get('unique')} |")
    suggested = profile.get("suggested") or {}
    hints = [f"{key.replace('_', ' ')}: `{value}`" for key, value in suggested.items()
             if value and key in SUGGESTED_KEYS]
    if hints:
        lines += ["", "Suggested for a new experiment: " + "; ".join(hints)]
    return "\n".join(lines)
