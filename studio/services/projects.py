"""Projects a team shares: which ones a user sees, which one each user works in, who belongs.

The current project is remembered per signed-in user (one user switching project moves nobody
else); in single-user mode it is the one shared setting it always was. Every list of the app
(experiments, datasets, studies, deployments, compare) is drawn for the current project, so a
current project the user may see is what keeps other projects' rows out of their pages.
"""
from __future__ import annotations

from collections.abc import Callable

from .access_policy import (
    SINGLE_USER, AccessDenied, Actor, check_change, check_create, check_manage_members, check_see_project, may_see_project,
    owner_fields, project_members,
)

CURRENT_PROJECT_SETTING = "current_project_id"


def current_project_setting(actor: Actor) -> str:
    """The settings key of the actor's current project (the shared key in single-user mode)."""
    return f"user/{actor.name}/{CURRENT_PROJECT_SETTING}" if actor.name else CURRENT_PROJECT_SETTING


class ProjectService:
    def __init__(self, store, on_change: Callable[[], None] = lambda: None,
                 user_names: Callable[[], list[str]] = lambda: []):
        self.store = store
        self._on_change = on_change
        self._user_names = user_names  # who may be added as a member (the sign-in file's users)

    def visible(self, actor: Actor) -> list[dict]:
        """The projects the actor sees, the default project first."""
        return [p for p in self.store.projects.list() if may_see_project(actor, p)]

    def visible_ids(self, actor: Actor) -> set[str]:
        return {p["id"] for p in self.visible(actor)}

    def sees(self, actor: Actor, row: dict | None) -> bool:
        """Whether a dataset, experiment, study or deployment row is in a project the actor sees
        (a direct link to another team's experiment opens as not found)."""
        project_id = (row or {}).get("project_id")
        project = self.store.projects.get(project_id) if project_id else None
        return project is None or may_see_project(actor, project)

    def check_see_experiments(self, actor: Actor, experiment_ids: list[str]) -> None:
        for experiment_id in experiment_ids:
            row = self.store.experiments.get(experiment_id)
            if row is not None and not self.sees(actor, row):
                check_see_project(actor, self.store.projects.get(row["project_id"]))

    # ---- the current project, per user
    def current(self, actor: Actor = SINGLE_USER) -> dict:
        """The actor's current project; when they have not chosen one, or it was deleted, or they
        were removed from it: the shared choice, else the first project they see (the default
        project, which is everyone's, is always there)."""
        # Their own choice first, then the shared one (the project a demo seeds opens for everyone).
        for key in dict.fromkeys([current_project_setting(actor), CURRENT_PROJECT_SETTING]):
            project_id = self.store.settings.get(key)
            project = self.store.projects.get(project_id) if project_id else None
            if project is not None and may_see_project(actor, project):
                return project
        visible = self.visible(actor)
        return visible[0] if visible else self.store.projects.default()

    def set_current(self, project_id: str, actor: Actor = SINGLE_USER) -> dict:
        project = self.store.projects.get(project_id)
        if project is None:
            raise ValueError(f"there is no project with id {project_id!r}")
        check_see_project(actor, project)
        self.store.settings.set(current_project_setting(actor), project_id)
        self._on_change()
        return project

    # ---- creating, renaming, members
    def create(self, name: str, actor: Actor = SINGLE_USER) -> dict:
        """A new project owned by ``actor`` (its first member), made their current one."""
        check_create(actor, "a project")
        created = self.store.projects.create(name, owner=owner_fields(actor).get("owner"))
        self.set_current(created["id"], actor)
        return created

    def rename(self, project_id: str, name: str, actor: Actor = SINGLE_USER) -> dict:
        project = self.store.projects.get(project_id)
        if project is not None:
            check_change(actor, project, "rename", "project")
        renamed = self.store.projects.rename(project_id, name)
        self._on_change()
        return renamed

    def members(self, project_id: str) -> list[str] | None:
        """Who belongs to the project; None: everyone (a project without a member list)."""
        project = self._require(project_id)
        return project_members(project)

    def candidates(self, project_id: str) -> list[str]:
        """The users who could be added: the sign-in file's users not in the project yet."""
        present = set(self.members(project_id) or [])
        return sorted(n for n in self._user_names() if n not in present)

    def add_member(self, project_id: str, name: str, actor: Actor) -> dict:
        project = self._require(project_id)
        check_manage_members(actor, project)
        name = (name or "").strip()
        if name not in self._user_names():
            raise AccessDenied(f"{name!r} is not a user of this Studio; add them on the Admin page first.")
        members = project_members(project) or [m for m in [project.get("owner")] if m]
        return self._set_members(project, members + [name])

    def remove_member(self, project_id: str, name: str, actor: Actor) -> dict:
        project = self._require(project_id)
        check_manage_members(actor, project)
        if name == project.get("owner"):
            raise AccessDenied(f"{name} owns project {project['name']!r} and always belongs to it.")
        members = project_members(project) or []
        if name not in members:
            raise AccessDenied(f"{name!r} is not a member of project {project['name']!r}.")
        return self._set_members(project, [m for m in members if m != name])

    def _set_members(self, project: dict, members: list[str]) -> dict:
        changed = self.store.projects.set_members(project["id"], members)
        self._on_change()
        return changed

    def _require(self, project_id: str) -> dict:
        project = self.store.projects.get(project_id)
        if project is None:
            raise ValueError(f"there is no project with id {project_id!r}")
        return project
