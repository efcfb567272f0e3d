"""End to end: the single-page app's views keep their address, stay quiet when idle, and teach when empty.

One completed experiment (trained by the real engine before the app starts) in the default
project, then Chromium: header and tabs, the address of each view (a refresh and Back keep it),
status badges and filters in the list, no requests at all from an idle completed run's page,
and in a new empty project the empty states with the demo data one click away.
Screenshots of every view: test-artifacts/screenshots/nav-*.png.
"""
from __future__ import annotations

import re

import pytest

from tests.ui.browser_app import BROWSER_TEST, run_pids, running_app, screenshot, screenshot_on_failure
from tests.ui.test_deploy_ui_browser import _completed_experiment

pytestmark = BROWSER_TEST
IDLE_MS = 4000


@pytest.fixture()
def app(tmp_path, tiny_llama_dir):
    home = tmp_path / "studio_home"
    home.mkdir()
    experiment = _completed_experiment(home, tiny_llama_dir)
    with running_app(home, tmp_path / "app.log", run_pids) as url:
        yield {"url": url, "experiment": experiment}


@pytest.fixture()
def app_url(app):
    return app["url"]


def shot(page, name: str) -> None:
    screenshot(page, f"nav-{name}", settle_ms=500)


def nav(page, name: str) -> None:
    page.locator("#studio-nav").get_by_role("tab", name=name, exact=True).click()


def test_views_keep_their_address_stay_quiet_and_teach_when_empty(page, app):
    with screenshot_on_failure(page, "nav-failure"):
        _flow(page, app["experiment"])


def _flow(page, experiment):
    base = page.base
    page.set_default_timeout(90_000)  # the shared 2-core machine can be very loaded
    page.goto(base + "/")
    page.wait_for_selector("#card-experiments")
    assert "Studio" in page.locator("#studio-header").inner_text()
    assert page.locator("#project-select input").input_value() == "Default"
    shot(page, "home")

    # Each tab is a view with its own address; a refresh lands on the same view.
    for name, view, content in [("Datasets", "datasets", "#datasets-table [role=gridcell]"),
                                ("Deployments", "deployments", "#deployments-table"),
                                ("Chat", "chat", "#chat-source"),
                                ("Settings", "settings", "#setting-price input"),
                                ("Experiments", "experiments", "#experiments-table [role=gridcell]")]:
        nav(page, name)
        page.wait_for_url(re.compile(rf".*\?view={view}$"))
        page.locator(content).first.wait_for(state="visible")
        _buttons_share_one_size(page, view)
        shot(page, view)
    page.reload()
    page.locator("#experiments-table [role=gridcell]").first.wait_for(state="visible")
    assert page.locator("#studio-nav [role=tab][aria-selected=true]").inner_text() == "Experiments"

    # The list: a coloured status badge, filters by status and problem type.
    badge = page.locator("#experiments-table .badge-Completed").filter(visible=True).first
    badge.wait_for()
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    # One option picked is one request (Gradio's dropdown sends "input" twice on an option click).
    joined = []
    page.on("request", lambda request: joined.append(request.url) if "/queue/join" in request.url else None)
    _choose(page, "experiment-status-filter", "Failed")
    page.wait_for_selector("#page-label:has-text('No experiments')")
    page.wait_for_timeout(1000)
    assert len(joined) == 1, f"one filter choice sent {len(joined)} events"
    _choose(page, "experiment-status-filter", "Completed")
    page.wait_for_selector(f"#experiments-table [role=gridcell]:has-text('{experiment['name']}')")
    _choose(page, "experiment-type-filter", "Image Classification")
    page.wait_for_selector("#page-label:has-text('No experiments')")
    _choose(page, "experiment-type-filter", "Causal LM")
    page.wait_for_selector(f"#experiments-table [role=gridcell]:has-text('{experiment['name']}')")
    shot(page, "experiments-filtered")

    # Edit mode: its bar stays on one line and its buttons keep the page's one size.
    page.click("#edit-experiments")
    page.locator("#compare-selected").wait_for(state="visible")
    bar = page.locator("#compare-selected").bounding_box()
    delete = page.locator("#delete-selected").bounding_box()
    assert abs(bar["y"] - delete["y"]) < 2, "the edit bar wrapped"
    _buttons_share_one_size(page, "experiments edit mode")
    _runtime_column_in_view(page, "edit mode")  # the Select column must not push Runtime out
    page.click("#edit-done")
    _runtime_column_in_view(page, "the list")

    # A row opens the run's view at its own address; refresh and Back keep the views.
    page.locator("#experiments-table [role=gridcell]", has_text=experiment["name"]).first.click()
    page.wait_for_url(re.compile(rf".*\?view=experiment&id={experiment['id']}$"))
    page.locator("#metrics-chart .js-plotly-plot").wait_for(state="visible")
    page.wait_for_selector("#status-badge:has-text('Completed')")
    shot(page, "experiment")

    # Nothing is live here: no timer, so no request at all while the page sits idle.
    # The view's load chain may still be finishing on a loaded machine: one late step is not polling.
    page.wait_for_timeout(2000)
    sent = []
    page.on("request", lambda request: sent.append(request.url))
    page.wait_for_timeout(IDLE_MS)
    assert sent == [], f"an idle completed run's page sent {len(sent)} requests: {sent[:5]}"

    page.reload()
    page.wait_for_selector(f"#experiment-header:has-text('{experiment['name']}')")
    page.locator("#metrics-chart .js-plotly-plot").wait_for(state="visible")
    page.go_back()
    page.wait_for_url(re.compile(r".*\?view=experiments$"))
    page.locator("#experiments-table [role=gridcell]").first.wait_for(state="visible")
    # An address of the former one-URL-per-page app still opens its view.
    page.goto(f"{base}/experiment?id={experiment['id']}")
    page.wait_for_url(re.compile(rf".*/\?view=experiment&id={experiment['id']}$"))
    page.wait_for_selector(f"#experiment-header:has-text('{experiment['name']}')")
    nav(page, "Experiments")

    # A new, empty project: the pages say what to do, the demo data is one click away.
    page.click("#project-manage")
    page.locator("#project-name input, #project-name textarea").first.fill("Empty project")
    page.click("#project-create")
    page.wait_for_selector("#project-message:has-text('Created project')")
    page.wait_for_selector("#experiments-empty:has-text('No experiments in this project yet')")
    shot(page, "experiments-empty")
    nav(page, "Datasets")
    page.wait_for_selector("#datasets-empty:has-text('No datasets in this project yet')")
    shot(page, "datasets-empty")
    page.click("#import-demo-dataset")
    page.wait_for_selector("#datasets-table [role=gridcell]:has-text('demo_instructions')")
    nav(page, "Experiments")
    page.wait_for_selector("#experiments-empty:has-text('Press')")
    page.click("#experiments-demo")
    page.wait_for_selector("#new-experiment-dialog #advanced-yaml")
    page.wait_for_function(
        "document.querySelector('#advanced-yaml .cm-content')?.innerText.includes('train_dataset_id')")
    shot(page, "experiments-demo-dialog")


def _buttons_share_one_size(page, where: str) -> None:
    """Every visible text button of the shown view has the same height and text size."""
    sizes = page.evaluate("""() => [...document.querySelectorAll('button.lg, button.md, button.sm')]
        .filter(b => b.offsetParent !== null && b.innerText.trim())
        .map(b => [b.innerText.trim(), Math.round(b.getBoundingClientRect().height),
                   getComputedStyle(b).fontSize])""")
    assert sizes, f"no buttons found on {where}"
    heights = [height for _, height, _ in sizes]
    assert max(heights) - min(heights) <= 2 and len({font for *_, font in sizes}) == 1, \
        f"{where}: buttons differ in size: {sizes}"


def _runtime_column_in_view(page, where: str) -> None:
    # Measured in one script: the Dataframe may redraw between two locator calls (a detached header).
    fits = page.wait_for_function("""() => {
        const table = document.querySelector('#experiments-table');
        const header = table && Array.from(table.querySelectorAll('th'))
            .find(th => th.innerText.includes('Runtime') && th.getBoundingClientRect().width > 0);
        if (!header) return null;
        return {fits: header.getBoundingClientRect().right <= table.getBoundingClientRect().right + 1};
    }""").json_value()
    assert fits["fits"], f"{where}: Runtime is cut off at 1440 px"


def _choose(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()
