"""The admin page's edits to the sign-in file: users, roles and passwords, admins only.

The file itself (``studio.auth.UserFile``) keeps its rules: bcrypt hashes only, and never a
file without an admin; this service adds who may ask.
"""
from __future__ import annotations

from studio.auth import AuthFileError, UserFile

from .access_policy import Actor, check_administer

NO_FILE = "Sign-in is off (Studio was started without --auth-file): there are no users to manage."


def list_users(users: UserFile | None, actor: Actor) -> list[dict]:
    check_administer(actor, "users")
    if users is None:
        return []
    return [{"name": u.name, "role": u.role} for u in users.users().values()]


def add_user(users: UserFile | None, actor: Actor, name: str, password: str, role: str) -> str:
    check_administer(actor, "users")
    user = _file(users).add_user(name, password or "", role)
    return f"Added {user.name} ({user.role})."


def set_role(users: UserFile | None, actor: Actor, name: str, role: str) -> str:
    check_administer(actor, "users")
    _file(users).set_role(name, role)
    return f"{name} is now {role}."


def set_password(users: UserFile | None, actor: Actor, name: str, password: str) -> str:
    check_administer(actor, "users")
    _file(users).set_password(name, password or "")
    return f"New password set for {name}."


def remove_user(users: UserFile | None, actor: Actor, name: str) -> str:
    check_administer(actor, "users")
    if name == actor.name:
        raise AuthFileError("you cannot remove yourself; another admin can")
    _file(users).remove_user(name)
    return f"Removed {name}."


def _file(users: UserFile | None) -> UserFile:
    if users is None:
        raise AuthFileError(NO_FILE)
    return users
