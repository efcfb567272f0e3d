"""Admin page (``?view=admin``, admins only): users and roles, the model registry, demo limits.

Wiring only: every rule (who may, what is valid) lives in studio/services/user_admin.py,
registry_admin.py and app_settings.py (the limits section is studio/ui/demo_limits.py); the tab
is hidden from members by the app (studio/ui/app.py).
"""
from __future__ import annotations

import gradio as gr
import pandas as pd

from studio.auth import ROLES, AuthFileError
from studio.config.problem_types import LABELS, PROBLEM_TYPES
from studio.services import registry_admin, user_admin
from studio.services.access_policy import AccessDenied, may_administer
from studio.services.model_registry import ADMIN_REGISTRY_NAME, RegistryError
from studio.ui import demo_limits, session
from studio.ui.session import with_session

REFUSALS = (AccessDenied, AuthFileError, RegistryError, OSError)
USER_COLUMNS = ["User", "Role"]
MODEL_COLUMNS = ["Model id", "Family", "Problem types"]


def build(ctx, view) -> dict:
    gr.Markdown("# Admin", elem_id="admin-title")
    refused = gr.Markdown(visible=False, elem_id="admin-refused")
    with gr.Column(elem_id="admin-body") as body:
        gr.Markdown("### Users and roles\nMembers see the projects they belong to and change only what they created; "
                    "admins change everything, Settings and this page. Changes apply at the next request.")
        users_table = gr.Dataframe(headers=USER_COLUMNS, interactive=False, elem_id="admin-users", show_label=False)
        with gr.Row():
            user_name = gr.Textbox(label="User name", elem_id="admin-user-name")
            password = gr.Textbox(label="Password (new users, or a new password)", type="password",
                                  elem_id="admin-user-password")
            role = gr.Dropdown(label="Role", choices=list(ROLES), value="member", elem_id="admin-user-role")
        with gr.Row():
            add_user = gr.Button("Add user", variant="primary", elem_id="admin-add-user")
            set_role = gr.Button("Set role", elem_id="admin-set-role")
            set_password = gr.Button("Set password", elem_id="admin-set-password")
            remove_user = gr.Button("Remove user", variant="stop", elem_id="admin-remove-user")
        users_message = gr.Markdown(elem_id="admin-users-message")

        gr.Markdown(f"### Model registry\nModels this Studio adds to the built-in list (`STUDIO_HOME/"
                    f"{ADMIN_REGISTRY_NAME}`); an entry with a built-in id replaces it.")
        models_table = gr.Dataframe(headers=MODEL_COLUMNS, interactive=False, elem_id="admin-models",
                                    show_label=False)
        with gr.Row():
            model_id = gr.Textbox(label="Model id", placeholder="org/name or a local checkpoint folder",
                                  elem_id="admin-model-id")
            family = gr.Textbox(label="Family (optional)", elem_id="admin-model-family")
        problem_types = gr.CheckboxGroup([(LABELS.get(t, t), t) for t in PROBLEM_TYPES], label="Problem types "
                                         "(none: read from the model's config.json, else every type)",
                                         elem_id="admin-model-types")
        with gr.Row():
            add_model = gr.Button("Add or replace model", variant="primary", elem_id="admin-add-model")
            remove_model = gr.Button("Remove model", variant="stop", elem_id="admin-remove-model")
        models_message = gr.Markdown(elem_id="admin-models-message")

        limits = demo_limits.build(ctx)

    def draw():
        actor = session.actor(ctx)
        if not may_administer(actor):
            return [gr.update(visible=True, value="Only an admin sees this page."), gr.update(visible=False)] + \
                [gr.skip()] * (2 + len(limits["outputs"]))
        return [gr.update(visible=False), gr.update(visible=True), _users_frame(ctx, actor), _models_frame(ctx)] + \
            limits["values"]()

    def user_action(change):
        def handler(name, secret, chosen_role):
            actor = session.actor(ctx)
            try:
                note = change(actor, (name or "").strip(), secret, chosen_role)
            except REFUSALS as exc:
                return f"⚠ {exc}", gr.skip(), gr.skip()
            return note, "", _users_frame(ctx, actor)
        return with_session(handler)

    def model_action(change):
        def handler(chosen_id, chosen_family, chosen_types):
            actor = session.actor(ctx)
            try:
                note = change(actor, chosen_id, chosen_family, chosen_types)
            except REFUSALS as exc:
                return f"⚠ {exc}", gr.skip()
            return note, _models_frame(ctx)
        return with_session(handler)

    view.load(draw, None, [refused, body, users_table, models_table] + limits["outputs"])
    user_inputs, user_outputs = [user_name, password, role], [users_message, password, users_table]
    add_user.click(user_action(lambda a, n, p, r: user_admin.add_user(ctx.users, a, n, p, r)), user_inputs, user_outputs)
    set_role.click(user_action(lambda a, n, p, r: user_admin.set_role(ctx.users, a, n, r)), user_inputs, user_outputs)
    set_password.click(user_action(lambda a, n, p, r: user_admin.set_password(ctx.users, a, n, p)), user_inputs,
                       user_outputs)
    remove_user.click(user_action(lambda a, n, p, r: user_admin.remove_user(ctx.users, a, n)), user_inputs,
                      user_outputs)
    model_inputs, model_outputs = [model_id, family, problem_types], [models_message, models_table]
    add_model.click(model_action(lambda a, i, f, t: "Saved " + registry_admin.add_model(ctx.home, i, f, t, a)["id"]
                                 + "."), model_inputs, model_outputs)
    remove_model.click(model_action(lambda a, i, f, t: registry_admin.remove_model(ctx.home, i, a) or
                                    f"Removed {i}."), model_inputs, model_outputs)
    return {"users": users_table, "models": models_table}


def _users_frame(ctx, actor) -> pd.DataFrame:
    try:
        rows = user_admin.list_users(ctx.users, actor)
    except REFUSALS:
        rows = []
    if ctx.users is None:
        return pd.DataFrame([{"User": user_admin.NO_FILE, "Role": ""}], columns=USER_COLUMNS)
    return pd.DataFrame([{"User": r["name"], "Role": r["role"]} for r in rows], columns=USER_COLUMNS)


def _models_frame(ctx) -> pd.DataFrame:
    try:
        entries = registry_admin.admin_entries(ctx.home)
    except RegistryError as exc:
        return pd.DataFrame([{"Model id": f"⚠ {exc}", "Family": "", "Problem types": ""}], columns=MODEL_COLUMNS)
    return pd.DataFrame([{"Model id": e.get("id"), "Family": e.get("family", ""),
                          "Problem types": ", ".join(e.get("problem_types") or []) or "(from its config)"}
                         for e in entries], columns=MODEL_COLUMNS)
