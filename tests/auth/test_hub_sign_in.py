"""Hugging Face sign-in on a Space, without reaching huggingface.co: the name is read from a session
shaped exactly as Gradio's OAuth callback stores it, through Gradio's own session readers; roles and
owners then work as with the users file."""
from __future__ import annotations

import time

import gradio as gr
import pytest
from starlette.requests import Request as StarletteRequest

from studio.auth import AuthFileError
from studio.auth.hub_users import HUB_USERS_SETTING, HubUsers, hub_sign_in_requested, hub_user_name
from studio.services.access_policy import NOBODY, AccessDenied
from studio.services.context import AppContext
from studio.ui import session


def signed_in_request(name: str | None, expires_in: float = 3600) -> gr.Request:
    """A gr.Request as Gradio builds it, its session holding what /login/callback stores."""
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    if name is not None:
        scope["session"] = {"oauth_info": {"access_token": "hf_oauth_access", "expires_at": time.time() + expires_in,
                                           "userinfo": {"preferred_username": name, "name": name.title()}}}
    return gr.Request(request=StarletteRequest(scope))


@pytest.fixture()
def ctx(studio_home, monkeypatch):
    context = AppContext.open(studio_home, start_runner=False)
    context.users = HubUsers(context.store, {"SPACE_AUTHOR_NAME": "owner-hf"})
    yield context
    context.close()


def test_hub_sign_in_is_on_only_on_a_space_with_oauth():
    assert hub_sign_in_requested({"SPACE_ID": "me/studio", "OAUTH_CLIENT_ID": "abc"})
    assert not hub_sign_in_requested({"SPACE_ID": "me/studio"})  # hf_oauth not in the front matter
    assert not hub_sign_in_requested({"OAUTH_CLIENT_ID": "abc"})  # not a Space


def test_the_name_comes_from_gradios_oauth_session_and_an_expired_one_signs_nobody_in():
    assert hub_user_name(signed_in_request("ann-hf")) == "ann-hf"
    assert hub_user_name(signed_in_request("ann-hf", expires_in=-5)) is None
    assert hub_user_name(signed_in_request(None)) is None  # no SessionMiddleware data at all


def test_the_space_owner_is_admin_and_every_other_hugging_face_user_a_member(ctx):
    assert session.actor(ctx, signed_in_request("ann-hf")).role == "member"
    owner = session.actor(ctx, signed_in_request("owner-hf"))
    assert (owner.name, owner.role) == ("owner-hf", "admin")
    assert session.actor(ctx, signed_in_request(None)) == NOBODY
    assert ctx.store.settings.get(HUB_USERS_SETTING) == {"ann-hf": "member", "owner-hf": "admin"}
    assert sorted(ctx.users.users()) == ["ann-hf", "owner-hf"]  # the Admin page's list, project candidates

    ctx.users.set_role("ann-hf", "admin")
    assert session.actor(ctx, signed_in_request("ann-hf")).is_admin
    with pytest.raises(AuthFileError, match="admin by the Space's settings"):
        ctx.users.set_role("owner-hf", "member")
    with pytest.raises(AuthFileError, match="sign in with their Hugging Face account"):
        ctx.users.add_user("carol", "a-password-1")


def test_without_an_owner_name_the_first_user_to_sign_in_is_admin(studio_home):
    context = AppContext.open(studio_home, start_runner=False)
    try:
        context.users = HubUsers(context.store, {})
        assert session.actor(context, signed_in_request("first-hf")).is_admin
        assert session.actor(context, signed_in_request("second-hf")).role == "member"
        with pytest.raises(AuthFileError, match="at least one admin"):
            context.users.set_role("first-hf", "member")
    finally:
        context.close()


def test_owners_and_rules_work_as_with_the_users_file(ctx):
    ann = session.actor(ctx, signed_in_request("ann-hf"))
    ben = session.actor(ctx, signed_in_request("ben-hf"))
    dataset = ctx.store.datasets.add({"name": "qa", "rows": 10})
    anns = ctx.experiments.create({"dataset": {"train_dataset_id": dataset["id"]}}, actor=ann)
    assert anns["owner"] == "ann-hf"
    with pytest.raises(AccessDenied, match=r"only its owner \(ann-hf\) or an admin"):
        ctx.experiments.delete([anns["id"]], actor=ben)
    team = ctx.projects.create("HF team", ann)
    ctx.projects.add_member(team["id"], "ben-hf", ann)  # a Hugging Face user who signed in before
    assert [p["name"] for p in ctx.projects.visible(ben)] == ["Default", "HF team"]
    # A visitor who has not signed in creates nothing.
    with pytest.raises(AccessDenied, match="Sign in to create an experiment"):
        ctx.experiments.create({"dataset": {"train_dataset_id": dataset["id"]}}, actor=NOBODY)
    with pytest.raises(AccessDenied, match="Sign in to create a project"):
        ctx.projects.create("Anonymous", NOBODY)
    owner = session.actor(ctx, signed_in_request("owner-hf"))
    assert ctx.experiments.delete([anns["id"]], actor=owner) == 1
