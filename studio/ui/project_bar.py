"""The current project in the app's header: switch, and create or rename behind a small toggle.

It is built once (in the header), so every view shares it; views redraw on its events.
"""
from __future__ import annotations

import gradio as gr

from studio.services.access_policy import AccessDenied
from studio.store import StoreError
from studio.ui import session


def build(ctx) -> dict:
    project = gr.Dropdown(label="Project", choices=[], scale=0, min_width=240, elem_id="project-select",
                          container=False, show_label=False)
    manage = gr.Button("Manage projects", size="sm", scale=0, min_width=150, elem_id="project-manage")
    with gr.Row(visible=False, equal_height=True, elem_id="project-editor", elem_classes=["toolbar"]) as editor:
        name = gr.Textbox(label="Project name", placeholder="name for a new project, or a new name",
                          scale=2, min_width=220, elem_id="project-name")
        create = gr.Button("Create project", size="sm", scale=0, min_width=130, elem_id="project-create")
        rename = gr.Button("Rename current", size="sm", scale=0, min_width=130, elem_id="project-rename")
        message = gr.Markdown(elem_id="project-message")
    shown = gr.State(False)

    def values():
        current = ctx.current_project()
        choices = [(p["name"], p["id"]) for p in ctx.store.projects.list()]
        return gr.update(choices=choices, value=current["id"])

    def select(project_id):
        try:
            ctx.set_current_project(project_id)
        except ValueError as exc:  # deleted meanwhile: show what exists now
            return values(), f"⚠ {exc}"
        return gr.skip(), ""

    def on_create(request: gr.Request, new_name):
        try:
            created = ctx.create_project(new_name, session.actor(ctx, request))
        except StoreError as exc:
            return gr.skip(), gr.skip(), f"⚠ {exc}"
        return values(), "", f"Created project **{created['name']}**."

    def on_rename(request: gr.Request, project_id, new_name):
        try:
            renamed = ctx.rename_project(project_id, new_name, session.actor(ctx, request))
        except (StoreError, AccessDenied) as exc:
            return gr.skip(), gr.skip(), f"⚠ {exc}"
        return values(), "", f"Renamed to **{renamed['name']}**."

    manage.click(lambda was: (not was, gr.update(visible=not was)), [shown], [shown, editor],
                 show_progress="hidden")
    events = [
        project.input(select, [project], [project, message]),
        create.click(on_create, [name], [project, name, message]),
        rename.click(on_rename, [project, name], [project, name, message]),
    ]
    return {"project": project, "name": name, "message": message, "events": events, "values": values}
