"""Experiment actions that ship or build on a run: Deploy, Push to Hugging Face, Ask KGM, AutoML.

How the experiment detail page (``studio/ui/experiment_detail.py``) wires it: Deploy sits in
the action row, the others in its "…" menu (the spec's layout)::

    with gr.Row():                                          # the action row
        ship = build_ship_actions(ctx, experiment_id)       # Deploy (+ its note) lands here
        ...
        with menu:                                          # the "…" menu's column
            for button in ship["menu_items"]:               # Push to Hugging Face, Ask KGM, AutoML
                button.render()

The buttons start hidden and keep their visibility in step with the run's status through
``ship["tick"](*ship["tick_inputs"])`` (outputs ``ship["tick_outputs"]``), which the page calls
from its own timer while the run is live (one timer a page: each tick is a request); a tick
returns ``gr.skip()`` while the status is unchanged. Their dialogs are modal overlays
(``studio-modal``), so where they are built does not change the layout. To show the buttons at
once when the view is shown instead of at the first tick::

    view.load(on_load, ...).then(ship["refresh_by_id"], [experiment_id], ship["timer_outputs"])

Visibility: Deploy, Push and AutoML for Completed runs (Deploy disabled with the reason for
problem types that cannot be served, i.e. object detection, or when Settings turn Deploy off;
Push hidden when Settings turn it off, its reason in the same note); Ask KGM for any finished run
(Completed, Failed, Stopped: a failed run is where advice helps most).
"""
from __future__ import annotations

import html

import gradio as gr

from studio.config.problem_types import DEPLOYABLE_TYPES, NOT_DEPLOYABLE_REASON
from studio.runner.gpu_inventory import detect_gpus
from studio.runner.run_folder_reader import TERMINAL_STATUSES
from studio.services.access_policy import may_change, secret_key
from studio.services.limits import action_refusal
from studio.services.push import HF_TOKEN_SECRET, PushError, push_experiment
from studio.ui import session, study_dialog
from studio.ui.deployments import AUTO_GPU, create_deployment, deployments_url
from studio.ui.kgm_dialog import build_kgm_dialog


# ---------------------------------------------------------------------- visibility by status
def action_state(row: dict | None, turned_off: dict | None = None) -> dict:
    """Which actions an experiment row allows: {"deploy", "deployable", "reason", "push", "kgm", "automl"}.

    ``turned_off`` maps "deploy" / "push" to the reason Settings turned it off (``limits.action_refusal``):
    Deploy then stays visible but disabled with that reason, Push is hidden and its reason joins the note.
    """
    turned_off = turned_off or {}
    status = (row or {}).get("status")
    completed = status == "Completed"
    problem_type = (row or {}).get("problem_type")
    deployable = completed and problem_type in DEPLOYABLE_TYPES
    reasons = []
    if completed and not deployable:
        reasons.append(NOT_DEPLOYABLE_REASON.get(problem_type, f"Problem type {problem_type} cannot be deployed."))
    if completed:
        reasons += [turned_off[action] for action in ("deploy", "push") if turned_off.get(action)]
    return {"deploy": completed, "deployable": deployable and not turned_off.get("deploy"),
            "reason": " ".join(reasons) or None, "push": completed and not turned_off.get("push"),
            "kgm": status in TERMINAL_STATUSES, "automl": completed}


def _updates(ctx, row: dict | None, mine: bool = True) -> list:
    """``mine``: whether the signed-in user may deploy and push this run (its owner, or an admin)."""
    state = action_state(row, {action: action_refusal(ctx.store, action) for action in ("deploy", "push")})
    state.update(deploy=state["deploy"] and mine, push=state["push"] and mine,
                 reason=state["reason"] if mine else None)
    return [gr.update(visible=state["deploy"], interactive=state["deployable"]),
            gr.update(visible=bool(state["reason"]), value=f"<span class='studio-muted' id='deploy-note'>"
                      f"{html.escape(state['reason'] or '')}</span>"),
            gr.update(visible=state["push"]), gr.update(visible=state["kgm"]), gr.update(visible=state["automl"])]


# ---------------------------------------------------------------------- the actions
def build_ship_actions(ctx, experiment_id_state: gr.State) -> dict:
    deploy_button = gr.Button("Deploy", size="sm", scale=0, min_width=90, variant="primary", visible=False,
                              elem_id="action-deploy")
    deploy_note = gr.HTML(visible=False, elem_id="action-deploy-note")
    # render=False: the page renders these in its "…" menu.
    push_button = gr.Button("Push to Hugging Face", size="sm", visible=False, elem_id="action-push", render=False)
    kgm_button = gr.Button("Ask KGM", size="sm", visible=False, elem_id="action-kgm", render=False)
    automl_button = gr.Button("AutoML", size="sm", visible=False, elem_id="action-automl", render=False)
    timer_outputs = [deploy_button, deploy_note, push_button, kgm_button, automl_button]
    target = gr.Textbox(visible=False)
    seen = gr.State(None)

    deploy = _deploy_dialog(ctx, experiment_id_state)
    push = _push_dialog(ctx, experiment_id_state)
    ask = build_kgm_dialog(ctx, experiment_id_state, target, _modal)
    automl = study_dialog.build(ctx, experiment_id_state)

    def refresh(row: dict | None) -> list:
        return _updates(ctx, row, may_change(session.actor(ctx), row))

    def refresh_by_id(experiment_id):
        return refresh(ctx.store.experiments.get(experiment_id) if experiment_id else None)

    def tick(experiment_id, last):
        row = ctx.store.experiments.get(experiment_id) if experiment_id else None
        key = [experiment_id, (row or {}).get("status")]
        if key == last:
            return [gr.skip()] * len(timer_outputs) + [gr.skip()]
        return refresh(row) + [key]

    deploy_button.click(deploy["open"], None, deploy["open_outputs"])
    push_button.click(push["open"], [experiment_id_state], push["open_outputs"])
    kgm_button.click(ask["open"], [experiment_id_state], ask["open_outputs"]).then(
        ask["refine"], ask["refine_inputs"], ask["refine_outputs"])
    automl_button.click(automl["open"], [experiment_id_state], automl["open_outputs"])
    return {"deploy": deploy_button, "deploy_note": deploy_note, "push": push_button, "kgm": kgm_button,
            "automl": automl_button, "menu_items": [push_button, kgm_button, automl_button], "timer_outputs": timer_outputs, "tick": tick,
            "tick_inputs": [experiment_id_state, seen], "tick_outputs": timer_outputs + [seen], "refresh": refresh,
            "refresh_by_id": refresh_by_id, "dialogs": {"deploy": deploy, "push": push, "kgm": ask,
                                                        "automl": automl}}


def _modal(elem_id: str):
    return gr.Column(visible=False, elem_classes=["studio-modal", "small"], elem_id=elem_id)


def _deploy_dialog(ctx, experiment_id_state) -> dict:
    gpus = detect_gpus()
    with _modal("deploy-dialog") as dialog:
        with gr.Column(elem_classes=["studio-modal-body"]):
            gr.Markdown("### Deploy this model\nServes it with an OpenAI-compatible API in its own process.")
            name = gr.Textbox(label="Name (optional)", placeholder="defaults to the experiment's name",
                              elem_id="deploy-name")
            key = gr.Textbox(label="API key (optional)", type="password", elem_id="deploy-key",
                             info="Clients must send it as a Bearer token. Stored as a secret, never shown again.")
            gpu = gr.Dropdown(label="GPU", choices=[("Auto (most free memory)", AUTO_GPU)] +
                              [(f"GPU {g}", g) for g in gpus], value=AUTO_GPU, visible=bool(gpus),
                              elem_id="deploy-gpu")
            # HTML, not Markdown: Gradio's Markdown opens every link in a new tab.
            message = gr.HTML(elem_id="deploy-message")
            with gr.Row():
                go = gr.Button("Deploy", variant="primary", elem_id="deploy-confirm")
                close = gr.Button("Close", elem_id="deploy-close")

    def on_deploy(request: gr.Request, experiment_id, deployment_name, api_key, gpu_choice):
        if ctx.deploy is None:
            return "⚠ The deployment service is not available in this installation.", ""
        try:
            row = create_deployment(ctx, experiment_id, deployment_name, api_key, gpu_choice,
                                    actor=session.actor(ctx, request))
        except Exception as exc:  # DeployError: not Completed, no saved model, not deployable
            return f"⚠ {html.escape(str(exc))}", ""
        return (f"✅ Deployment <b>{html.escape(row['name'])}</b> is starting. "
                f"<a href='{html.escape(deployments_url(row['id']))}'>Open it on the Deployments page →</a>"), ""

    go.click(on_deploy, [experiment_id_state, name, key, gpu], [message, key])
    close.click(lambda: gr.update(visible=False), None, [dialog])
    return {"dialog": dialog, "open": lambda: (gr.update(visible=True), "", ""),
            "open_outputs": [dialog, message, key]}


def _push_dialog(ctx, experiment_id_state) -> dict:
    with _modal("push-dialog") as dialog:
        with gr.Column(elem_classes=["studio-modal-body"]):
            gr.Markdown("### Push to Hugging Face\nUploads the model and a generated model card.")
            repo = gr.Textbox(label="Repository", placeholder="user-or-org/model-name", elem_id="push-repo")
            private = gr.Checkbox(label="Private repository", value=True, elem_id="push-private")
            what = gr.Radio([("Merged model", "merged"), ("LoRA adapter only", "adapter")], value="merged",
                            label="What to upload", elem_id="push-what")
            token = gr.Textbox(label="Hugging Face token", type="password", elem_id="push-token")
            message = gr.Markdown(elem_id="push-message")
            with gr.Row():
                go = gr.Button("Push", variant="primary", elem_id="push-confirm")
                close = gr.Button("Close", elem_id="push-close")

    def on_open(request: gr.Request, experiment_id):
        try:
            masked = ctx.store.secrets.masked(secret_key(session.actor(ctx, request), HF_TOKEN_SECRET))
        except PermissionError:  # nobody signed in: no token of theirs to offer
            masked = None
        hint = (f"optional: the token from Settings ({masked}) is used when empty" if masked
                else "required: no token is set in Settings")
        has_adapter = bool(experiment_id) and (ctx.experiments.run_dir(experiment_id) / "checkpoint" /
                                               "adapter").is_dir()
        choices = [("Merged model", "merged")] + ([("LoRA adapter only", "adapter")] if has_adapter else [])
        return gr.update(visible=True), gr.update(value="", placeholder=hint), \
            gr.update(choices=choices, value="merged"), ""

    def on_push(request: gr.Request, experiment_id, repo_id, is_private, kind, typed_token, progress=gr.Progress()):
        typed_token = (typed_token or "").strip() or None
        try:
            url = push_experiment(ctx.store, experiment_id, (repo_id or "").strip(), token=typed_token,
                                  private=bool(is_private), what=kind or "merged", home=ctx.home,
                                  actor=session.actor(ctx, request),
                                  progress=lambda fraction, text: progress(fraction, desc=text or "uploading"))
        except PushError as exc:
            return _scrub(f"⚠ Push failed: {exc}", typed_token), ""
        return f"✅ Pushed to [{html.escape(url)}]({url})", ""

    go.click(on_push, [experiment_id_state, repo, private, what, token], [message, token])
    close.click(lambda: (gr.update(visible=False), ""), None, [dialog, token])
    return {"dialog": dialog, "open": on_open, "open_outputs": [dialog, token, what, message]}


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text




__all__ = ["build_ship_actions", "action_state"]
