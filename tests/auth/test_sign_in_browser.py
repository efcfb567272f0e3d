"""End to end with sign-in: a member signs in on Gradio's login page, cannot delete another member's
experiment (its Delete is hidden; the list's bulk delete is refused), an admin signs in and can, and
sets the demo limits on the admin page.
Screenshots: test-artifacts/screenshots/sign-in-*.png."""
from __future__ import annotations

import json
import re

import pytest

from tests.auth.sign_in_page import open_address, sign_in
from tests.auth.team_home import team_home
from tests.ui.browser_app import BROWSER_TEST, chromium_page, run_pids, running_app, screenshot, screenshot_on_failure

pytestmark = BROWSER_TEST


@pytest.fixture()
def team(tmp_path):
    home, auth_file, owned = team_home(tmp_path)
    with running_app(home, tmp_path / "app.log", run_pids, args=["--auth-file", str(auth_file)]) as url:
        yield url, home, owned


def stored_ids(home) -> set[str]:
    return set(json.loads((home / "db.json").read_text()).get("experiments", {}))


def test_a_member_cannot_delete_another_members_experiment_and_an_admin_can(team):
    url, home, owned = team
    with chromium_page(url) as page, screenshot_on_failure(page, "sign-in-failed"):
        page.set_default_timeout(90_000)  # a shared 2-core machine under load
        page.goto(url + "/")
        page.get_by_label("Password").fill("wrong password")
        page.get_by_label("Username").fill("ben")
        page.get_by_role("button", name="Login").click()
        page.wait_for_selector("text=/incorrect credentials/i")
        screenshot(page, "sign-in-01-refused", 300)

        sign_in(page, "ben")
        assert "ben" in page.inner_text("#studio-user-cell")
        assert not page.get_by_role("tab", name="Admin").is_visible()  # members have no admin page

        # Ann's experiment: ben sees it, but its Delete is not offered.
        open_address(page, f"{url}/?view=experiment&id={owned['ann']}")
        page.wait_for_selector("#experiment-header:has-text('ann-run')")
        page.click("#action-more")
        page.wait_for_selector("#action-menu.open")
        page.wait_for_selector("#action-rerun", state="visible")
        assert not page.locator("#action-delete").is_visible()
        screenshot(page, "sign-in-02-member-sees-no-delete", 300)

        # The list's bulk delete: ticking it anyway is refused by the service, nothing deleted.
        open_address(page, f"{url}/?view=experiments")
        page.click("#edit-experiments")
        page.wait_for_selector("#delete-selected")
        row = page.locator("#experiments-table [role=row]", has_text="ann-run")
        row.locator("input[type=checkbox]").check()
        page.click("#delete-selected")
        page.click("#confirm-delete-yes")
        page.wait_for_selector("text=/only its owner \\(ann\\) or an admin/")
        screenshot(page, "sign-in-03-member-delete-refused", 300)
        assert stored_ids(home) == set(owned.values())

        open_address(page, url + "/logout")
        sign_in(page, "root")
        assert page.get_by_role("tab", name="Admin").is_visible()
        open_address(page, f"{url}/?view=experiment&id={owned['ann']}")
        page.wait_for_selector("#experiment-header:has-text('ann-run')")
        page.click("#action-more")
        page.wait_for_selector("#action-delete", state="visible")
        page.click("#action-delete")
        page.click("#confirm-delete-experiment")
        page.wait_for_url(re.compile(r".*\?view=experiments$"))
        assert stored_ids(home) == {owned["ben"]}
        screenshot(page, "sign-in-04-admin-deleted", 300)

        # The demo limits are the admin page's (Settings only links there).
        open_address(page, f"{url}/?view=settings")
        page.wait_for_selector("#settings-limits-link a[href='?view=admin']")
        assert page.locator("#setting-max-upload-mb").count() == 0
        open_address(page, f"{url}/?view=admin")
        page.wait_for_selector("#admin-demo-limits:has-text('Limits')")
        page.locator("#setting-max-upload-mb input").fill("5")
        page.locator("#setting-allow-push input").uncheck()
        page.click("#admin-save-limits")
        page.wait_for_selector("#admin-limits-message:has-text('Saved the limits.')")
        screenshot(page, "sign-in-05-admin-limits", 300)
        settings = json.loads((home / "db.json").read_text())["settings"]
        assert settings["max_upload_mb"]["value"] == 5 and settings["allow_push"]["value"] is False
