"""A tab clicked while the page is still opening shows its content (here: the Experiments list).

Gradio can drop a tab's select event sent before the page finished opening; the list must be
drawn anyway (the page-load chain draws it), or the user sees an empty list until the next action.
"""
from __future__ import annotations

import pytest

from tests.compare_runs import completed_run
from tests.ui.browser_app import BROWSER_TEST, running_app, screenshot_on_failure

pytestmark = BROWSER_TEST


@pytest.fixture()
def app_url(tmp_path):
    from studio.store import Store
    from studio.store.database import forget_database

    home = tmp_path / "home"
    store = Store(home)
    for name in ("alpha-run", "beta-run"):
        completed_run(store, home, name, 1e-4)
    forget_database(home / "db.json")
    with running_app(home, tmp_path / "app.log", lambda _home: []) as url:
        yield url


def test_the_experiments_tab_clicked_while_the_page_opens_shows_the_list(page):
    with screenshot_on_failure(page, "early-tab-click-failure"):
        page.goto(f"{page.base}/", wait_until="commit")
        page.get_by_role("tab", name="Experiments").click()
        page.wait_for_selector("#experiments-table [role=gridcell]:has-text('beta-run')")
