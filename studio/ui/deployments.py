"""Deployments page (``deployments``, ``deployments?id=...``, ``deployments?experiment=...``).

The list of serving processes of the current project with live status (a timer polls
``DeploymentService.list()``, which turns Starting into Ready once /health answers), a detail
panel with ready-to-copy curl and Python snippets, Start / Stop / Delete / Health, and the
New deployment dialog. Models are never loaded here: each deployment is its own process.
"""
from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from studio.config.problem_types import DEPLOYABLE_TYPES, NOT_DEPLOYABLE_REASON
from studio.runner.gpu_inventory import detect_gpus
from studio.services.chat import is_classifier
from studio.services.access_policy import SINGLE_USER, may_change
from studio.services.deploy import LIVE_STATUSES
from studio.services.limits import action_refusal
from studio.ui import session
from studio.ui.session import with_session, with_session_select
from studio.ui.experiment_table import format_time
from studio.ui.navigation import NAVIGATE_JS, view_url

REFRESH_S = 2.0
AUTO_GPU = "auto"
COLUMNS = ["Name", "Experiment", "Model", "Status", "Endpoint", "Created"]


def deployments_url(deployment_id: str | None = None) -> str:
    return view_url("deployments", id=deployment_id)


def chat_url(deployment_id: str) -> str:
    return view_url("chat", deployment=deployment_id)


# ---------------------------------------------------------------------- what the page shows
def project_deployments(ctx, project_id: str) -> list[dict]:
    """The project's deployments (chat servers excluded), statuses refreshed, newest first."""
    return [row for row in ctx.deploy.list() if row.get("project_id") == project_id]


def deployable_experiments(ctx, project_id: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Dropdown choices of the project's Completed experiments, and why some cannot be deployed."""
    choices, reasons = [], {}
    for row in ctx.store.experiments.list_read_only(project_id):
        if row.get("status") != "Completed":
            continue
        label = f"{row.get('name') or row['id']} ({row['id']})"
        problem_type = row.get("problem_type")
        if problem_type not in DEPLOYABLE_TYPES:
            reasons[row["id"]] = NOT_DEPLOYABLE_REASON.get(
                problem_type, f"Problem type {problem_type} cannot be deployed.")
            label += " — not deployable"
        choices.append((label, row["id"]))
    return choices, reasons


def create_deployment(ctx, experiment_id: str, name: str | None = None, api_key: str | None = None,
                      gpu: str | None = None, actor=SINGLE_USER) -> dict:
    """Deploy a Completed experiment; the row joins the experiment's project. DeployError (or
    AccessDenied) if it cannot."""
    row = ctx.deploy.create(experiment_id, name=(name or "").strip() or None,
                            api_key=(api_key or "").strip() or None,
                            gpu=None if gpu in (None, "", AUTO_GPU) else gpu, actor=actor)
    experiment = ctx.store.experiments.get(experiment_id) or {}
    if experiment.get("project_id") and experiment["project_id"] != row.get("project_id"):
        row = ctx.store.deployments.update(row["id"], project_id=experiment["project_id"])
    ctx.changes.bump()
    return row


def turned_off_updates(ctx) -> list:
    """New deployment and Start disabled, with the reason beside them, while Settings turn Deploy off."""
    refusal = action_refusal(ctx.store, "deploy")
    return [gr.update(interactive=not refusal), gr.update(interactive=not refusal),
            gr.update(visible=bool(refusal), value=f"<span class='studio-muted'>{html.escape(refusal or '')}</span>")]


def table_frame(ctx, rows: list[dict]) -> pd.DataFrame:
    names = {}
    for row in rows:
        experiment = ctx.store.experiments.get(row["experiment_id"]) or {}
        names[row["id"]] = experiment.get("name") or row["experiment_id"]
    return pd.DataFrame([{
        "Name": row.get("name") or "",
        "Experiment": names[row["id"]],
        "Model": row.get("served_name") or "",
        "Status": row.get("status") or "",
        # A restart picks a new port: an old endpoint would mislead.
        "Endpoint": (row.get("base_url") or "") if row.get("status") in LIVE_STATUSES else "",
        "Created": format_time(row.get("created")),
    } for row in rows], columns=COLUMNS)


def status_badge(status: str) -> str:
    css_class = f"badge-{status}"
    return f"<span class='badge {html.escape(css_class)}' id='deployment-badge'>{html.escape(status)}</span>"


def detail_html(ctx, row: dict) -> str:
    experiment = ctx.store.experiments.get(row["experiment_id"]) or {}
    parts = [f"<h3 style='margin:0'>{html.escape(row.get('name') or '')} {status_badge(row.get('status') or '')}</h3>",
             "<div class='studio-muted'>"
             f"experiment {html.escape(experiment.get('name') or row['experiment_id'])} · "
             f"model name <code>{html.escape(row.get('served_name') or '')}</code> · "
             f"{'GPU ' + html.escape(str(row['gpu'])) if row.get('gpu') is not None else 'CPU'} · "
             f"{'API key ' + html.escape(row.get('api_key_masked') or 'set') if row.get('auth') else 'no API key'}"
             f" · created {format_time(row.get('created'))}</div>"]
    if row.get("base_url") and row.get("status") in LIVE_STATUSES:
        parts.append(f"<div>Endpoint: <code id='deployment-endpoint'>{html.escape(row['base_url'])}</code></div>")
    if not is_classifier(row.get("problem_type")):
        settings = ", ".join(f"{k} {v}" for k, v in ctx.deploy.generation_defaults(row["experiment_id"]).items())
        parts.append(f"<div class='studio-muted' id='deployment-defaults'>Settings a request leaves out take the "
                     f"run's prediction settings: {html.escape(settings)}</div>")
    if row.get("status") == "Starting":
        parts.append("<div class='studio-muted'>Loading the model in its own process; this page updates "
                     "when /health answers.</div>")
    if row.get("error"):
        parts.append(f"<pre class='status-error' style='white-space:pre-wrap'>{html.escape(row['error'])}</pre>")
    return "\n".join(parts)


def _signature(rows: list[dict]) -> list:
    return [[r["id"], r.get("status"), r.get("base_url"), r.get("name"), r.get("error")] for r in rows]


# ---------------------------------------------------------------------- the page
def build(ctx, view) -> dict:
    gr.Markdown("# Deployments\nServe a completed experiment's model with an OpenAI-compatible API.")
    if ctx.deploy is None:
        gr.Markdown("⚠ The deployment service is not available in this installation.")
        return {}
    gpus = detect_gpus()
    with gr.Row(equal_height=True, elem_classes=["toolbar"]):
        new_button = gr.Button("New deployment", variant="primary", scale=0, min_width=200,
                               elem_id="new-deployment")
        turned_off_note = gr.HTML(visible=False, elem_id="deploy-turned-off")
    empty_note = gr.Markdown(elem_id="deployments-empty")
    table = gr.Dataframe(interactive=False, wrap=True, elem_id="deployments-table", show_label=False,
                         headers=COLUMNS, elem_classes=["experiments-table"])
    with gr.Column(visible=False, elem_id="deployment-detail") as detail:
        summary = gr.HTML(elem_id="deployment-summary")
        with gr.Row(equal_height=True):
            start = gr.Button("Start", size="sm", scale=0, min_width=90, elem_id="deployment-start")
            stop = gr.Button("Stop", size="sm", scale=0, min_width=90, variant="stop", elem_id="deployment-stop")
            health = gr.Button("Health", size="sm", scale=0, min_width=90, elem_id="deployment-health")
            chat = gr.Button("Chat with it", size="sm", scale=0, min_width=120, elem_id="deployment-chat")
            delete = gr.Button("Delete", size="sm", scale=0, min_width=90, elem_id="deployment-delete")
        action_message = gr.Markdown(elem_id="deployment-message")
        gr.Markdown("Copy a snippet to call it. With an API key, export it first: "
                    "`export STUDIO_API_KEY=...` (the key is never shown here).")
        # No line wrapping: a wrapped line has no number of its own and the gutter looks shifted.
        curl = gr.Code(language="shell", label="curl", interactive=False, wrap_lines=False, elem_id="snippet-curl")
        python = gr.Code(language="python", label="Python (openai)", interactive=False, wrap_lines=False,
                         elem_id="snippet-python")
    with gr.Column(visible=False, elem_classes=["studio-modal", "small"], elem_id="confirm-delete-deployment") \
            as confirm:
        with gr.Column(elem_classes=["studio-modal-body"]):
            confirm_text = gr.Markdown()
            with gr.Row():
                confirm_yes = gr.Button("Delete", variant="stop", elem_id="confirm-delete-deployment-yes")
                confirm_no = gr.Button("Cancel")
    with gr.Column(visible=False, elem_classes=["studio-modal", "small"], elem_id="new-deployment-dialog") as dialog:
        with gr.Column(elem_classes=["studio-modal-body"]):
            gr.Markdown("### New deployment")
            experiment = gr.Dropdown(label="Completed experiment", choices=[], elem_id="new-deployment-experiment")
            not_deployable = gr.Markdown(visible=False, elem_id="new-deployment-reason",
                                         elem_classes=["config-errors"])
            name = gr.Textbox(label="Name (optional)", placeholder="defaults to the experiment's name",
                              elem_id="new-deployment-name")
            api_key = gr.Textbox(label="API key (optional)", type="password", elem_id="new-deployment-key",
                                 info="Clients must send it as a Bearer token. Stored as a secret, never shown again.")
            gpu = gr.Dropdown(label="GPU", choices=[("Auto (most free memory)", AUTO_GPU)] + [(f"GPU {g}", g)
                              for g in gpus], value=AUTO_GPU, visible=bool(gpus), elem_id="new-deployment-gpu")
            dialog_message = gr.Markdown(elem_id="new-deployment-message")
            with gr.Row():
                create = gr.Button("Deploy", variant="primary", elem_id="create-deployment")
                cancel = gr.Button("Cancel")

    ids = gr.State([])
    selected = gr.State(None)
    seen = gr.State(None)
    reasons = gr.State({})
    target = gr.Textbox(visible=False)
    timer = gr.Timer(REFRESH_S, active=False)

    list_outputs = [table, ids, empty_note, seen]
    detail_outputs = [detail, summary, curl, python, start, stop, delete]

    def draw_list():
        rows = project_deployments(ctx, session.current_project(ctx)["id"])
        note = "" if rows else "No deployments in this project yet. Deploy a Completed experiment."
        return [table_frame(ctx, rows), [r["id"] for r in rows], note, _signature(rows)]

    def draw_detail(deployment_id):
        row = ctx.store.deployments.get(deployment_id) if deployment_id else None
        # A link to another project's deployment shows nothing to whoever is not its member.
        if row is None or row.get("ephemeral") or not ctx.projects.sees(session.actor(ctx), row):
            return [gr.update(visible=False)] + [gr.skip()] * (len(detail_outputs) - 1)
        snippets = ctx.deploy.snippets(deployment_id)
        live = row.get("status") in LIVE_STATUSES
        mine = may_change(session.actor(ctx), row)  # Start, Stop and Delete: its owner or an admin
        return [gr.update(visible=True), detail_html(ctx, row), snippets["curl"], snippets["python"],
                gr.update(visible=mine and not live), gr.update(visible=mine and live), gr.update(visible=mine)]

    def draw_all(deployment_id):
        return draw_list() + draw_detail(deployment_id)

    def tick(signature, deployment_id):
        rows = project_deployments(ctx, session.current_project(ctx)["id"])
        if _signature(rows) == signature:
            return [gr.skip()] * (len(list_outputs) + len(detail_outputs))
        return draw_all(deployment_id)

    def on_load(params: dict):
        deployment_id = params.get("id") if params.get("id") and ctx.store.deployments.get(params["id"]) else None
        opened = [gr.skip()] * len(dialog_outputs)
        if params.get("experiment"):
            opened = open_dialog(params["experiment"])
        return [deployment_id] + draw_all(deployment_id) + opened

    def on_select(evt: gr.SelectData, page_ids):
        if not evt.index or evt.index[0] >= len(page_ids):
            return [gr.skip()] + [gr.skip()] * len(detail_outputs) + [""]
        deployment_id = page_ids[evt.index[0]]
        return [deployment_id] + draw_detail(deployment_id) + [""]

    def run_action(action, done_text):
        def handler(deployment_id):
            if not deployment_id:
                return ["⚠ Select a deployment first."] + draw_all(deployment_id)
            try:
                action(deployment_id)
            except Exception as exc:  # DeployError and store errors carry the reason for the user
                return [f"⚠ {exc}"] + draw_all(deployment_id)
            ctx.changes.bump()
            return [done_text] + draw_all(deployment_id)
        return handler

    def on_health(deployment_id):
        if not deployment_id:
            return "⚠ Select a deployment first."
        result = ctx.deploy.health(deployment_id)
        if result.get("status") == "ok":
            details = ", ".join(f"{k}: {v}" for k, v in result.items() if k != "status")
            return f"✅ Healthy{f' ({details})' if details else ''}."
        return f"⚠ Not answering: {result.get('error') or result.get('status')}"

    def ask_delete(deployment_id):
        row = ctx.store.deployments.get(deployment_id) if deployment_id else None
        if row is None:
            return gr.skip(), gr.skip()
        return gr.update(visible=True), (f"### Delete deployment {row.get('name')}?\n\nIts serving process is "
                                         "stopped and its endpoint, API key and log are removed.")

    def do_delete(deployment_id):
        try:
            ctx.deploy.delete(deployment_id, session.actor(ctx))
        except Exception as exc:
            gr.Warning(f"Delete failed: {exc}")
        ctx.changes.bump()
        return [gr.update(visible=False), None] + draw_all(None)

    def open_dialog(experiment_id=None):
        choices, why = deployable_experiments(ctx, session.current_project(ctx)["id"])
        value = experiment_id if experiment_id in {c[1] for c in choices} else None
        if not choices:
            message = "No Completed experiment in this project yet: train one first."
        elif experiment_id and value is None:
            message = f"⚠ Experiment {experiment_id} is not a Completed experiment of this project."
        else:
            message = ""
        return [gr.update(visible=True), gr.update(choices=choices, value=value), why, "", "", message] + \
            list(on_experiment(value, why))

    def on_experiment(experiment_id, why):
        reason = (why or {}).get(experiment_id)
        return (gr.update(visible=bool(reason), value=f"Not deployable: {reason}" if reason else ""),
                gr.update(interactive=bool(experiment_id) and not reason))

    def on_create(experiment_id, deployment_name, key, gpu_choice):
        if not experiment_id:
            return [gr.skip(), "⚠ Choose a Completed experiment.", gr.skip(), gr.skip()] + \
                [gr.skip()] * (len(list_outputs) + len(detail_outputs))
        try:
            row = create_deployment(ctx, experiment_id, deployment_name, key, gpu_choice, actor=session.actor(ctx))
        except Exception as exc:  # DeployError says why (not Completed, no model, not deployable)
            return [gr.skip(), f"⚠ {exc}", "", gr.skip()] + [gr.skip()] * (len(list_outputs) + len(detail_outputs))
        gr.Info(f"Deployment {row['name']} is starting.")
        return [gr.update(visible=False), "", "", row["id"]] + draw_all(row["id"])

    dialog_outputs = [dialog, experiment, reasons, name, api_key, dialog_message, not_deployable, create]

    view.load(on_load, None, [selected] + list_outputs + detail_outputs + dialog_outputs, params=True)
    view.load(lambda: turned_off_updates(ctx), None, [new_button, start, turned_off_note])
    view.on_project_change(lambda: [None] + draw_all(None), None, [selected] + list_outputs + detail_outputs)
    # Polls only while a deployment of the project is starting or serving (its status can change).
    view.poll(timer, tick, [seen, selected], list_outputs + detail_outputs,
              live=lambda _params: any(row.get("status") in LIVE_STATUSES
                                       for row in project_deployments(ctx, session.current_project(ctx)["id"])))
    table.select(with_session_select(on_select), [ids], [selected] + detail_outputs + [action_message])
    start.click(with_session(run_action(lambda i: ctx.deploy.start(i, session.actor(ctx)), "Starting…")), [selected],
                [action_message] + list_outputs + detail_outputs)
    stop.click(with_session(run_action(lambda i: ctx.deploy.stop(i, session.actor(ctx)),
                                       "Stopped; the model's memory is freed.")), [selected],
               [action_message] + list_outputs + detail_outputs)
    health.click(on_health, [selected], [action_message])
    chat.click(lambda i: chat_url(i) if i else "", [selected], [target]).then(None, [target], None, js=NAVIGATE_JS)
    delete.click(ask_delete, [selected], [confirm, confirm_text])
    confirm_no.click(lambda: gr.update(visible=False), None, [confirm])
    confirm_yes.click(with_session(do_delete), [selected], [confirm, selected] + list_outputs + detail_outputs)
    new_button.click(lambda: open_dialog(), None, dialog_outputs)
    experiment.input(on_experiment, [experiment, reasons], [not_deployable, create])
    cancel.click(lambda: gr.update(visible=False), None, [dialog])
    create.click(with_session(on_create), [experiment, name, api_key, gpu],
                 [dialog, dialog_message, api_key, selected] + list_outputs + detail_outputs)
    return {"table": table, "timer": timer, "detail": detail, "dialog": dialog}
