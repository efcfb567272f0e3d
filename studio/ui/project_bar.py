"""The current-project selector with create/rename, shown on top of each list page."""
from __future__ import annotations

import gradio as gr

from studio.store import StoreError


def build(ctx) -> dict:
    with gr.Row(equal_height=True, elem_classes=["toolbar"]):
        project = gr.Dropdown(label="Project", choices=[], scale=2, min_width=220, elem_id="project-select")
        name = gr.Textbox(label="Project name", placeholder="name for a new project, or a new name",
                          scale=2, min_width=220, elem_id="project-name")
        create = gr.Button("Create project", size="sm", scale=0, min_width=130)
        rename = gr.Button("Rename current", size="sm", scale=0, min_width=130)
    message = gr.Markdown()

    def values():
        current = ctx.current_project()
        choices = [(p["name"], p["id"]) for p in ctx.store.projects.list()]
        return gr.update(choices=choices, value=current["id"])

    def select(project_id):
        ctx.set_current_project(project_id)
        return ""

    def on_create(new_name):
        try:
            created = ctx.store.projects.create(new_name)
        except StoreError as exc:
            return gr.skip(), gr.skip(), f"⚠ {exc}"
        ctx.set_current_project(created["id"])
        return values(), "", f"Created project **{created['name']}**."

    def on_rename(project_id, new_name):
        try:
            renamed = ctx.store.projects.rename(project_id, new_name)
        except StoreError as exc:
            return gr.skip(), gr.skip(), f"⚠ {exc}"
        ctx.changes.bump()
        return values(), "", f"Renamed to **{renamed['name']}**."

    events = [
        project.input(select, [project], [message]),
        create.click(on_create, [name], [project, name, message]),
        rename.click(on_rename, [project, name], [project, name, message]),
    ]
    return {"project": project, "name": name, "message": message, "events": events, "values": values}
