"""Plotly's renderer is imported while the page idles, so the first chart of a tab does not wait for it."""
from __future__ import annotations

import pytest

from studio.ui.plotly_preload import plotly_chunk, preload_script
from tests.ui.browser_app import BROWSER_TEST, running_app, screenshot_on_failure


def test_the_installed_gradio_has_one_plotly_chunk_and_the_script_imports_it():
    chunk = plotly_chunk()
    assert chunk and chunk.startswith("PlotlyPlot-") and chunk.endswith(".js")
    assert f'"./assets/{chunk}"' in preload_script()


def test_without_the_chunk_the_page_gets_no_script(tmp_path):
    assert plotly_chunk(tmp_path) is None
    assert preload_script(tmp_path) == ""
    (tmp_path / "PlotlyPlot-a.js").write_text("")
    (tmp_path / "PlotlyPlot-b.js").write_text("")
    assert plotly_chunk(tmp_path) is None  # two candidates: not guessed


@pytest.fixture()
def app_url(tmp_path):
    with running_app(tmp_path / "home", tmp_path / "app.log", lambda _home: []) as url:
        yield url


@BROWSER_TEST[0]
@BROWSER_TEST[1]
def test_a_page_without_charts_has_loaded_plotly_once_idle(page):
    with screenshot_on_failure(page, "plotly-preload-failure"):
        page.goto(f"{page.base}/?view=home")
        page.wait_for_selector("#card-datasets")
        page.wait_for_function(
            "() => performance.getEntriesByType('resource').some(e => e.name.includes('/assets/PlotlyPlot-'))")
        assert page.locator(".js-plotly-plot").count() == 0  # no chart asked for it
