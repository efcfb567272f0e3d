"""Hugging Face sign-in on a Space: who signed in, read from Gradio's own OAuth session, and their role.

On a Space whose README front matter has ``hf_oauth: true``, Hugging Face sets ``OAUTH_CLIENT_ID``
(and the secret, scopes and provider URL) and Gradio, seeing a ``gr.LoginButton``, adds its
``/login/huggingface``, ``/login/callback`` and ``/logout`` routes and keeps the signed-in profile in
a signed session cookie. ``request.username`` stays None there (it is only set by Gradio's
``auth``), so the name is read from that session the way Gradio itself fills ``gr.OAuthProfile``.

Roles: the Space's owner (``SPACE_AUTHOR_NAME``) and the names in ``STUDIO_ADMINS`` are admins; when
neither is set, the first user to sign in is. Everyone else is a member. The users seen so far and
the roles an admin gave them are kept in the store's settings (``hub_users``), so the Admin page
lists them and projects can add them as members.
"""
from __future__ import annotations

import os
import threading

from gradio.helpers import _session_from_request
from gradio.oauth import _get_valid_oauth_info_from_session

from .users import ADMIN, MEMBER, AuthFileError, User, check_role, check_user_name

OAUTH_CLIENT_ENV = "OAUTH_CLIENT_ID"  # set by Hugging Face on a Space with hf_oauth: true
SPACE_AUTHOR_ENV = "SPACE_AUTHOR_NAME"
ADMINS_ENV = "STUDIO_ADMINS"  # comma-separated Hugging Face user names (an organisation's Space)
HUB_USERS_SETTING = "hub_users"
NOT_HERE = "Users sign in with their Hugging Face account here: there are no passwords to {what}."


def hub_sign_in_requested(environ=os.environ) -> bool:
    """Whether this is a Space with Hugging Face sign-in turned on (``hf_oauth: true``)."""
    return bool(environ.get("SPACE_ID")) and bool(environ.get(OAUTH_CLIENT_ENV))


def hub_user_name(request) -> str | None:
    """The Hugging Face user name of a request's OAuth session (None: nobody signed in)."""
    try:
        info = _get_valid_oauth_info_from_session(_session_from_request(request))
    except Exception:  # a session cookie that cannot be read signs nobody in
        return None
    name = ((info or {}).get("userinfo") or {}).get("preferred_username")
    return name if isinstance(name, str) and name else None


class HubUsers:
    """The users who signed in with Hugging Face; reads like ``UserFile`` (``users()``, ``role()``)."""

    def __init__(self, store, environ=os.environ):
        self.store = store
        owner = (environ.get(SPACE_AUTHOR_ENV) or "").strip()
        listed = [n.strip() for n in (environ.get(ADMINS_ENV) or "").split(",") if n.strip()]
        self.fixed_admins = frozenset(([owner] if owner else []) + listed)
        self._lock = threading.Lock()

    def users(self) -> dict[str, User]:
        return {name: User(name, role, "") for name, role in self._stored().items()}

    def role(self, name: str | None) -> str | None:
        """The role of a signed-in name, recording a user seen for the first time."""
        try:
            name = check_user_name(name or "")
        except AuthFileError:
            return None
        with self._lock:
            stored = self._stored()
            if name not in stored:
                first = not stored and not self.fixed_admins
                stored[name] = ADMIN if first or name in self.fixed_admins else MEMBER
                self.store.settings.set(HUB_USERS_SETTING, stored)
            return ADMIN if name in self.fixed_admins else stored[name]

    def set_role(self, name: str, role: str) -> None:
        check_role(role)
        if name in self.fixed_admins and role != ADMIN:
            raise AuthFileError(f"{name} is an admin by the Space's settings ({SPACE_AUTHOR_ENV} or {ADMINS_ENV})")
        with self._lock:
            stored = self._stored()
            if name not in stored:
                raise AuthFileError(f"{name!r} has not signed in here yet")
            stored[name] = role
            if not self.fixed_admins and ADMIN not in stored.values():
                raise AuthFileError("at least one admin must stay")
            self.store.settings.set(HUB_USERS_SETTING, stored)

    def add_user(self, name: str, password: str, role: str = MEMBER) -> User:
        raise AuthFileError(NOT_HERE.format(what="add; a user appears here once they sign in"))

    def set_password(self, name: str, password: str) -> None:
        raise AuthFileError(NOT_HERE.format(what="set"))

    def remove_user(self, name: str) -> None:
        raise AuthFileError(NOT_HERE.format(what="remove; set their role instead"))

    def _stored(self) -> dict[str, str]:
        stored = self.store.settings.get(HUB_USERS_SETTING) or {}
        return {str(n): r for n, r in stored.items() if r in (ADMIN, MEMBER)}
