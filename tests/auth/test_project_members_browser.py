"""Two users signed in at once: ann's new project is hers alone until she adds ben, and each of
them switches only their own current project. Screenshots: test-artifacts/screenshots/members-*.png."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.auth.sign_in_page import open_address, sign_in
from tests.auth.team_home import team_home
from tests.ui.browser_app import BROWSER_TEST, chromium_page, run_pids, running_app, screenshot, screenshot_on_failure

pytestmark = BROWSER_TEST


@pytest.fixture()
def team(tmp_path):
    home, auth_file, _owned = team_home(tmp_path)
    with running_app(home, tmp_path / "app.log", run_pids, args=["--auth-file", str(auth_file)]) as url:
        yield url


def project_choices(page) -> list[str]:
    page.click("#project-select input")
    options = page.get_by_role("option")
    options.first.wait_for(state="visible")
    names = [text.strip().splitlines()[-1].strip() for text in options.all_inner_texts()]  # after a check mark
    page.keyboard.press("Escape")
    page.locator("#project-select input").blur()  # a dropdown opens on focus: the next click reopens it
    return names


def choose(page, elem_id: str, option: str) -> None:
    page.click(f"#{elem_id} input")
    page.get_by_role("option", name=option, exact=True).click()


def shows_project(page, name: str) -> None:
    expect(page.locator("#project-select input")).to_have_value(name)


def test_a_project_is_seen_by_its_members_only_and_each_user_has_their_own_current_project(team):
    url = team
    with chromium_page(url) as ann, screenshot_on_failure(ann, "members-failed-ann"):
        ben = ann.context.browser.new_page(viewport={"width": 1400, "height": 1000})
        ben.base = url
        for page in (ann, ben):
            page.set_default_timeout(90_000)  # a shared 2-core machine under load
        with screenshot_on_failure(ben, "members-failed-ben"):
            sign_in(ann, "ann")
            ann.click("#project-manage")
            ann.locator("#project-name input, #project-name textarea").first.fill("Ann's team")
            ann.click("#project-create")
            ann.wait_for_selector("#project-message:has-text('Created project')")
            ann.wait_for_selector("#project-members:has-text('ann (owner)')")
            shows_project(ann, "Ann's team")

            sign_in(ben, "ben")
            shows_project(ben, "Default")  # ann's switch moved nobody else
            assert project_choices(ben) == ["Default"]
            screenshot(ben, "members-01-ben-sees-only-default", 300)

            choose(ann, "project-add-who", "ben")
            ann.click("#project-add-member")
            ann.wait_for_selector("#project-message:has-text('Added ben')")
            ann.wait_for_selector("#project-members:has-text('ben')")
            screenshot(ann, "members-02-ann-added-ben", 300)

            open_address(ben, url + "/")
            ben.wait_for_selector("#studio-user-cell:has-text('Signed in as ben')")
            assert project_choices(ben) == ["Default", "Ann's team"]
            choose(ben, "project-select", "Ann's team")
            ben.click("#project-manage")  # a member who does not own it sees who belongs, not the tools
            ben.wait_for_selector("#project-members:has-text('ann (owner)')")
            assert not ben.locator("#project-add-member").is_visible()
            choose(ben, "project-select", "Default")
            ben.wait_for_selector("#project-members:has-text('Everyone belongs')")

            open_address(ann, url + "/")
            ann.wait_for_selector("#studio-user-cell:has-text('Signed in as ann')")
            shows_project(ann, "Ann's team")  # ben's switches did not move ann
            screenshot(ann, "members-03-ann-still-on-her-project", 300)
