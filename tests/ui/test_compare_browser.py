"""End to end: tick three experiments in the list, press Compare, read their curves, the config diff and
the stored win rate of one against another; then compare two image classifiers, whose predictions show
each validation row's thumbnail.

Three completed experiments (run folders as a finished run leaves them, differing only in the
learning rate) are stored before the app starts. Screenshot: test-artifacts/screenshots/compare.png.
"""
from __future__ import annotations

import re

import pytest

from tests.compare_runs import completed_evaluation, completed_image_runs, completed_run
from tests.ui.browser_app import BROWSER_TEST, running_app, screenshot, screenshot_on_failure

pytestmark = BROWSER_TEST


@pytest.fixture()
def app_url(tmp_path):
    from studio.store import Store
    from studio.store.database import forget_database

    home = tmp_path / "home"
    store = Store(home)
    # Older than the text runs, so the list's first three rows stay the text runs.
    images = completed_image_runs(store, home, ["vit-a", "vit-b"])
    rows = [completed_run(store, home, name, lr, quality=quality)
            for name, lr, quality in (("lr-1e-4", 1e-4, 0.5), ("lr-3e-4", 3e-4, 2.0), ("lr-2e-4", 2e-4, 1.0))]
    completed_evaluation(store, home, rows[1], rows[0]["id"], "lr-1e-4", ["win", "win", "win", "tie"])
    forget_database(home / "db.json")
    with running_app(home, tmp_path / "app.log", lambda _home: []) as url:
        yield url, [row["id"] for row in images]


@pytest.fixture()
def page(app_url):
    from tests.ui.browser_app import chromium_page

    with chromium_page(app_url[0]) as tab:
        tab.image_ids = app_url[1]
        yield tab


def wait_for_text(page, selector: str, text: str) -> None:
    page.wait_for_function("([s, t]) => (document.querySelector(s)?.textContent || '').includes(t)",
                           arg=[selector, text])


def test_select_three_experiments_and_compare_them(page):
    with screenshot_on_failure(page, "compare-failure"):
        page.goto(f"{page.base}/experiments")
        # Clearing the search with Backspace (no keypress reaches Gradio) shows every run again.
        page.wait_for_selector("#experiments-table [role=gridcell]:has-text('lr-2e-4')")
        page.locator("#experiment-search textarea").click()
        page.keyboard.type("1e-4", delay=50)
        page.wait_for_function("!document.querySelector('#experiments-table').innerText.includes('lr-2e-4')")
        for _ in range(4):
            page.keyboard.press("Backspace")
        page.wait_for_function("document.querySelector('#experiments-table').innerText.includes('lr-2e-4')")
        page.click("#edit-experiments")
        page.wait_for_function("document.querySelectorAll('#experiments-table [role=gridcell] "
                               "input[type=checkbox]').length >= 3")
        boxes = page.locator("#experiments-table [role=gridcell] input[type=checkbox]")
        for i in range(3):
            boxes.nth(i).check()
        page.click("#compare-selected")
        page.wait_for_url(re.compile(r".*\?view=compare&ids="))
        page.locator("#compare-header").get_by_text("Compare 3 experiments").wait_for()
        wait_for_text(page, "#compare-config", "training.learning_rate")
        assert "training.batch_size" not in page.locator("#compare-config").inner_text()  # only keys that differ
        for name in ("lr-1e-4", "lr-3e-4", "lr-2e-4"):  # one legend entry per run on the loss chart
            wait_for_text(page, "#compare-validation-loss", name)
        wait_for_text(page, "#compare-metrics", "lr-3e-4")
        wait_for_text(page, "#compare-win-rates", "lr-1e-4 (compared here)")  # the stored judged evaluation
        page.click("#compare-parallel")  # the project-wide chart is drawn when its accordion opens
        page.wait_for_selector("#compare-parallel-chart .parcoords", timeout=90_000)
        assert "87.5%" in page.locator("#compare-win-rates").inner_text()
        page.reload()  # the URL holds the comparison
        wait_for_text(page, "#compare-config", "training.learning_rate")
        screenshot(page, "compare", 800)

        page.goto(f"{page.base}/?view=compare&ids={','.join(page.image_ids)}")  # two image classifiers
        page.locator("#compare-header").get_by_text("Compare 2 experiments").wait_for()
        # One thumbnail per validation row, next to both predictions (the table also keeps a hidden copy of a row).
        page.wait_for_function("new Set([...document.querySelectorAll(\"#compare-predictions img[src^='data:image/"
                               "jpeg']\")].map(img => img.alt)).size === 3")
        wait_for_text(page, "#compare-predictions", "vit-b")
