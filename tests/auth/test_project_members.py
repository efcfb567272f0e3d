"""Projects a team shares: each user's own current project, member lists, and what they hide."""
from __future__ import annotations

import pytest

from studio.auth import UserFile
from studio.services.access_policy import SINGLE_USER, AccessDenied, Actor
from studio.services.context import AppContext

ANN, BEN, ROOT = Actor("ann", "member"), Actor("ben", "member"), Actor("root", "admin")


@pytest.fixture()
def ctx(studio_home, tmp_path):
    users = UserFile(tmp_path / "users.yaml")
    for name, role in (("root", "admin"), ("ann", "member"), ("ben", "member")):
        users.add_user(name, f"{name}-password-1", role)
    context = AppContext.open(studio_home, start_runner=False)
    context.users = users
    yield context
    context.close()


def names(projects) -> list[str]:
    return [p["name"] for p in projects]


def test_each_user_switches_only_their_own_current_project(ctx):
    shared = ctx.projects.create("Shared")  # created in single-user terms: no member list
    assert ctx.current_project(ANN)["id"] == ctx.current_project(BEN)["id"] == shared["id"]  # the shared choice
    ctx.set_current_project(ctx.store.projects.default_id(), ANN)
    assert ctx.current_project(ANN)["is_default"] and ctx.current_project(BEN)["id"] == shared["id"]
    ctx.set_current_project(shared["id"], BEN)
    assert ctx.current_project(ANN)["is_default"]
    # Single-user mode keeps the one shared setting it always had.
    ctx.set_current_project(ctx.store.projects.default_id(), SINGLE_USER)
    assert ctx.current_project()["is_default"] and ctx.store.settings.get("current_project_id") == \
        ctx.store.projects.default_id()


def test_a_member_sees_only_projects_they_belong_to_until_the_owner_adds_them(ctx):
    anns = ctx.projects.create("Ann's team", ANN)
    assert anns["owner"] == "ann" and anns["members"] == ["ann"]
    assert ctx.current_project(ANN)["id"] == anns["id"]
    assert names(ctx.projects.visible(BEN)) == ["Default"]
    assert names(ctx.projects.visible(ROOT)) == ["Default", "Ann's team"]  # an admin sees every project
    with pytest.raises(AccessDenied, match="not a member of project \"Ann's team\""):
        ctx.set_current_project(anns["id"], BEN)
    assert ctx.current_project(BEN)["is_default"]

    with pytest.raises(AccessDenied, match=r"only its owner \(ann\) or an admin"):
        ctx.projects.add_member(anns["id"], "ben", BEN)
    assert ctx.projects.candidates(anns["id"]) == ["ben", "root"]
    ctx.projects.add_member(anns["id"], "ben", ANN)
    assert ctx.projects.members(anns["id"]) == ["ann", "ben"]
    assert names(ctx.projects.visible(BEN)) == ["Default", "Ann's team"]
    ctx.set_current_project(anns["id"], BEN)

    with pytest.raises(AccessDenied, match="owns project"):
        ctx.projects.remove_member(anns["id"], "ann", ROOT)
    ctx.projects.remove_member(anns["id"], "ben", ROOT)  # an admin manages any project's members
    assert names(ctx.projects.visible(BEN)) == ["Default"]
    assert ctx.current_project(BEN)["is_default"]  # removed from it: back on a project they see


def test_only_users_of_the_sign_in_file_join_and_the_default_project_stays_everyones(ctx):
    anns = ctx.projects.create("Ann's team", ANN)
    with pytest.raises(AccessDenied, match="'carol' is not a user"):
        ctx.projects.add_member(anns["id"], "carol", ANN)
    with pytest.raises(AccessDenied, match="default project: everyone belongs"):
        ctx.projects.add_member(ctx.store.projects.default_id(), "ben", ROOT)
    assert ctx.projects.members(anns["id"]) == ["ann"]
    assert ctx.projects.members(ctx.store.projects.default_id()) is None


def test_rows_of_a_project_without_a_member_list_are_seen_by_everyone(ctx):
    legacy = ctx.store.projects.create("Before member lists")  # as rows stored before this change
    assert "members" not in legacy
    assert names(ctx.projects.visible(BEN)) == ["Default", "Before member lists"]
    ctx.set_current_project(legacy["id"], BEN)
    # An admin adding the first member turns it into a members-only project.
    ctx.projects.add_member(legacy["id"], "ann", ROOT)
    assert names(ctx.projects.visible(BEN)) == ["Default"]


def test_experiments_of_a_hidden_project_are_out_of_the_lists_links_and_compare(ctx):
    anns = ctx.projects.create("Ann's team", ANN)
    hidden = ctx.store.experiments.add({"name": "secret-run", "status": "Completed", "owner": "ann",
                                        "project_id": anns["id"]})
    public = ctx.store.experiments.add({"name": "open-run", "status": "Completed", "owner": "ben",
                                        "project_id": ctx.store.projects.default_id()})
    bens_list = ctx.experiment_list.rows(ctx.current_project(BEN)["id"])
    assert [r["name"] for r in bens_list] == ["open-run"]
    assert [r["name"] for r in ctx.experiment_list.rows(ctx.current_project(ANN)["id"])] == ["secret-run"]
    assert not ctx.projects.sees(BEN, hidden) and ctx.projects.sees(ANN, hidden) and ctx.projects.sees(ROOT, hidden)
    assert ctx.projects.sees(BEN, public)
    with pytest.raises(AccessDenied, match="not a member"):
        ctx.projects.check_see_experiments(BEN, [public["id"], hidden["id"]])
    ctx.projects.check_see_experiments(ROOT, [public["id"], hidden["id"]])
