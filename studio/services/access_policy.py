"""Who may do what: every permission rule of Studio, in one place.

- Without a sign-in file Studio has one user, who is an admin: nothing is refused.
- Signed in, everyone sees everything in the projects they belong to: the project's creator and
  the members its owner or an admin added. A project without a member list (the default project,
  and every project created before sign-in or before member lists existed) belongs to everyone.
  An admin sees every project.
- A member stops, resumes, deletes, deploys or pushes only what they own (what they created);
  rows created before sign-in was switched on have no owner, so only an admin changes those.
- An admin may do everything, and alone manages Settings, users and the model registry.

Services call ``check_*`` before they change or reveal something and raise ``AccessDenied``
(a message the page shows as it is); UI modules call ``may_*`` only to hide what would be refused.
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.auth.users import ADMIN, MEMBER


class AccessDenied(PermissionError):
    """An action the signed-in user may not take; the message says who may."""


@dataclass(frozen=True)
class Actor:
    """The person behind a request: ``name`` None means single-user mode (or nobody signed in)."""

    name: str | None
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


SINGLE_USER = Actor(None, ADMIN)
NOBODY = Actor(None, "")  # signed-in mode, but the request names no known user: may change nothing


def owner_fields(actor: Actor) -> dict:
    """What a new row records about who created it (nothing in single-user mode)."""
    return {"owner": actor.name} if actor.name else {}


def acting_for(row: dict) -> Actor:
    """Whom a background job (an AutoML study's driver) acts for: the owner of the row it advances,
    so the experiments it creates belong to that owner."""
    return Actor(row["owner"], MEMBER) if row.get("owner") else SINGLE_USER


def check_create(actor: Actor, kind: str) -> None:
    """Anyone signed in creates (as the owner); a visitor of a Space with Hugging Face sign-in who
    has not signed in creates nothing."""
    if actor == NOBODY:
        raise AccessDenied(f"Sign in to create {kind}.")


def may_change(actor: Actor, row: dict | None) -> bool:
    """Stop, resume, delete, deploy, push, rename: the owner or an admin."""
    if actor.is_admin:
        return True
    return actor.role == MEMBER and actor.name is not None and (row or {}).get("owner") == actor.name


def check_change(actor: Actor, row: dict, action: str, kind: str) -> None:
    if may_change(actor, row):
        return
    owner = row.get("owner")
    whose = f"its owner ({owner}) or an admin may" if owner else \
        "an admin may (it was created before sign-in, so it has no owner)"
    raise AccessDenied(f"You cannot {action} {kind} {row.get('name') or row.get('id')!r}: only {whose}.")


def check_change_all(actor: Actor, rows: list[dict], action: str, kind: str) -> None:
    """All of them or none: refuses naming every row the actor may not change."""
    refused = [r for r in rows if not may_change(actor, r)]
    if len(rows) == 1:
        check_change(actor, rows[0], action, kind)
    if refused:
        names = ", ".join(repr(r.get("name") or r["id"]) for r in refused)
        raise AccessDenied(f"You cannot {action} {len(refused)} of these {kind}s ({names}): only their owners "
                           "or an admin may. Nothing was changed.")


def may_administer(actor: Actor) -> bool:
    """Settings shared by everyone, users and roles, the model registry."""
    return actor.is_admin


def check_administer(actor: Actor, what: str) -> None:
    if not may_administer(actor):
        raise AccessDenied(f"Only an admin may change {what}.")


def project_members(project: dict) -> list[str] | None:
    """The names a project belongs to; None: everyone (no member list)."""
    members = project.get("members")
    return None if members is None else list(members)


def may_see_project(actor: Actor, project: dict | None) -> bool:
    """Whether the project, and every dataset, experiment, study and deployment in it, is shown."""
    if actor.is_admin:
        return True
    if actor.role != MEMBER:
        return False
    if project is None:
        return True
    members = project_members(project)
    return members is None or actor.name in members or project.get("owner") == actor.name


def check_see_project(actor: Actor, project: dict) -> None:
    if not may_see_project(actor, project):
        raise AccessDenied(f"You are not a member of project {project.get('name')!r}: its owner or an admin "
                           "can add you.")


def may_manage_members(actor: Actor, project: dict | None) -> bool:
    """Add or remove members: the project's owner or an admin; the default project is everyone's
    (so every user always has a project to work in)."""
    if project is None or project.get("is_default"):
        return False
    return actor.is_admin or (actor.role == MEMBER and actor.name is not None and project.get("owner") == actor.name)


def check_manage_members(actor: Actor, project: dict) -> None:
    if project.get("is_default"):
        raise AccessDenied(f"Project {project.get('name')!r} is the default project: everyone belongs to it.")
    if not may_manage_members(actor, project):
        owner = project.get("owner")
        who = f"its owner ({owner}) or an admin" if owner else "an admin"
        raise AccessDenied(f"You cannot change who belongs to project {project.get('name')!r}: only {who} may.")


def secret_key(actor: Actor | str | None, key: str) -> str:
    """Where a personal secret (Hugging Face token, judge key) lives in secrets.json: the shared
    key in single-user mode, one key per user when signed in (so nobody's push uses another's token)."""
    if actor == NOBODY:
        raise AccessDenied("Sign in to use your credentials.")
    name = actor.name if isinstance(actor, Actor) else actor
    return f"user/{name}/{key}" if name else key
