"""The current project in the app's header: switch, and create, rename or share behind a small toggle.

It is built once (in the header), so every view shares it; views redraw on its events. Each
signed-in user sees only the projects they belong to and switches only their own current project.
"""
from __future__ import annotations

import gradio as gr

from studio.services.access_policy import AccessDenied, may_manage_members
from studio.store import StoreError
from studio.ui import session


def build(ctx) -> dict:
    project = gr.Dropdown(label="Project", choices=[], scale=0, min_width=240, elem_id="project-select",
                          container=False, show_label=False)
    manage = gr.Button("Manage projects", size="sm", scale=0, min_width=150, elem_id="project-manage")
    with gr.Column(visible=False, elem_id="project-editor") as editor:
        with gr.Row(equal_height=True, elem_classes=["toolbar"]):
            name = gr.Textbox(label="Project name", placeholder="name for a new project, or a new name",
                              scale=2, min_width=220, elem_id="project-name")
            create = gr.Button("Create project", size="sm", scale=0, min_width=130, elem_id="project-create")
            rename = gr.Button("Rename current", size="sm", scale=0, min_width=130, elem_id="project-rename")
        members = gr.Markdown(elem_id="project-members")
        with gr.Row(equal_height=True, visible=False, elem_classes=["toolbar"]) as member_tools:
            to_add = gr.Dropdown(label="Add a member", choices=[], scale=1, min_width=180, elem_id="project-add-who")
            add = gr.Button("Add member", size="sm", scale=0, min_width=130, elem_id="project-add-member")
            to_remove = gr.Dropdown(label="Remove a member", choices=[], scale=1, min_width=180,
                                    elem_id="project-remove-who")
            remove = gr.Button("Remove member", size="sm", scale=0, min_width=130, elem_id="project-remove-member")
        message = gr.Markdown(elem_id="project-message")
    shown = gr.State(False)
    member_outputs = [members, member_tools, to_add, to_remove]

    def values():
        current = session.current_project(ctx)
        choices = [(p["name"], p["id"]) for p in ctx.projects.visible(session.actor(ctx))]
        return gr.update(choices=choices, value=current["id"])

    def member_values():
        """Who belongs to the current project, and the add/remove tools for its owner or an admin."""
        if ctx.users is None:  # single-user: nobody to share with
            return ["", gr.update(visible=False), gr.update(), gr.update()]
        current = session.current_project(ctx)
        listed = ctx.projects.members(current["id"])
        who = ("Everyone belongs to this project." if listed is None
               else "Members: " + ", ".join(f"**{n}**" + (" (owner)" if n == current.get("owner") else "")
                                            for n in listed))
        if not may_manage_members(session.actor(ctx), current):
            return [who, gr.update(visible=False), gr.update(), gr.update()]
        removable = [n for n in listed or [] if n != current.get("owner")]
        return [who, gr.update(visible=True), gr.update(choices=ctx.projects.candidates(current["id"]), value=None),
                gr.update(choices=removable, value=None)]

    def select(project_id):
        try:
            ctx.set_current_project(project_id, session.actor(ctx))
        except (ValueError, AccessDenied) as exc:  # deleted meanwhile, or no longer a member
            return [values(), f"⚠ {exc}"] + member_values()
        return [gr.skip(), ""] + member_values()

    def on_create(request: gr.Request, new_name):
        try:
            created = ctx.projects.create(new_name, session.actor(ctx, request))
        except (StoreError, AccessDenied) as exc:
            return [gr.skip(), gr.skip(), f"⚠ {exc}"] + member_values()
        return [values(), "", f"Created project **{created['name']}**."] + member_values()

    def on_rename(request: gr.Request, project_id, new_name):
        try:
            renamed = ctx.projects.rename(project_id, new_name, session.actor(ctx, request))
        except (StoreError, AccessDenied) as exc:
            return gr.skip(), gr.skip(), f"⚠ {exc}"
        return values(), "", f"Renamed to **{renamed['name']}**."

    def change_member(change, done: str):
        def handler(request: gr.Request, project_id, who):
            if not who:
                return ["Choose a user first."] + member_values()
            try:
                change(project_id, who, session.actor(ctx, request))
            except (ValueError, AccessDenied) as exc:
                return [f"⚠ {exc}"] + member_values()
            return [done.format(name=who)] + member_values()
        return handler

    def toggle(was):
        return [not was, gr.update(visible=not was)] + member_values()

    manage.click(toggle, [shown], [shown, editor] + member_outputs, show_progress="hidden")
    add.click(change_member(ctx.projects.add_member, "Added **{name}** to the project."), [project, to_add],
              [message] + member_outputs)
    remove.click(change_member(ctx.projects.remove_member, "Removed **{name}** from the project."),
                 [project, to_remove], [message] + member_outputs)
    events = [
        project.input(select, [project], [project, message] + member_outputs),
        create.click(on_create, [name], [project, name, message] + member_outputs),
        rename.click(on_rename, [project, name], [project, name, message]),
    ]
    return {"project": project, "manage": manage, "name": name, "message": message, "events": events,
            "values": values}
