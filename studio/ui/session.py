"""Who is signed in, for a page handler: ``session.actor(ctx)`` (or ``actor(ctx, request)``).

Gradio hands the signed-in name only to a handler that declares a ``gr.Request`` parameter. The
view events (``View.load``/``poll`` and their ``then``) are wrapped once by ``with_session``,
which remembers the request for the handler's own call (a context variable: each event runs in
its own context, so nothing leaks between users); a click handler declares ``request: gr.Request``
itself and passes it. Any other handler is still covered: Gradio keeps the running event's
request in ``gradio.context.LocalContext.request``, which ``actor`` falls back to. The name is
Gradio's ``request.username`` (the users file) or, on a Space with Hugging Face sign-in, the
user of Gradio's OAuth session. Without sign-in every request stands for the one admin user.
"""
from __future__ import annotations

from contextvars import ContextVar

import gradio as gr
from gradio.context import LocalContext

from studio.auth.hub_users import hub_user_name

_REQUEST: ContextVar = ContextVar("studio_request", default=None)


def with_session(fn):
    """``fn`` as a handler that also receives the request (and remembers it for ``actor``)."""
    if fn is None:
        return None

    def handler(request: gr.Request, *values):
        _REQUEST.set(request)
        return fn(*values)

    # Not functools.wraps: its __wrapped__ would make Gradio read fn's signature and drop the request.
    handler.__name__ = getattr(fn, "__name__", "handler")
    return handler


def with_session_select(fn):
    """``with_session`` for a ``.select`` handler ``fn(evt, *values)``: Gradio passes the SelectData
    only to a parameter annotated with it, so the wrapper must declare one itself."""

    def handler(request: gr.Request, evt: gr.SelectData, *values):
        _REQUEST.set(request)
        return fn(evt, *values)

    handler.__name__ = getattr(fn, "__name__", "handler")
    return handler


def session_key() -> str | None:
    """The browser session of the running handler (one per open tab), when it is known."""
    request = _REQUEST.get() or LocalContext.request.get(None)
    return getattr(request, "session_hash", None) if request is not None else None


def actor(ctx, request: gr.Request | None = None):
    """The ``studio.services.access_policy.Actor`` of this request."""
    if request is None:
        # Gradio also keeps every running handler's request in its own context variable, so a
        # handler that neither declares gr.Request nor is wrapped still acts for its user.
        request = _REQUEST.get() or LocalContext.request.get(None)
    return ctx.actor_for(signed_in_name(request))


def signed_in_name(request) -> str | None:
    """The name Gradio's ``auth`` signed in, else the Hugging Face user of its OAuth session (a Space)."""
    if request is None:
        return None
    return getattr(request, "username", None) or hub_user_name(request)


def current_project(ctx, request: gr.Request | None = None) -> dict:
    """The current project of this request's user (each signed-in user has their own)."""
    return ctx.current_project(actor(ctx, request))
