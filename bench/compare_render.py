"""How fast the Compare page draws 8 runs of 1,000 metric points each (the target: under 1 s).

    python bench/compare_render.py [--runs 8] [--points 1000] [--repeats 5]

Seeds a temporary STUDIO_HOME (never your real one) with completed runs whose run folders are
what a finished run leaves (config.yaml, metrics.jsonl with ``points`` training-loss points and a
validation every tenth of them, final_metrics.json, predictions.parquet: tests/compare_runs.py),
then prints, each the best and the median of ``repeats`` tries since the machine may be shared:

- server: milliseconds to load the comparison and build every figure and table of the page, and to
  serialise the three charts as Gradio sends them;
- browser: milliseconds from navigating to Compare until its data arrived (the header names the
  runs) and until every chart shows all of its runs (a trace drawn per run in each of the three
  charts), with ``python app.py`` serving it: from the Home view of the loaded app (what the list's
  Compare button does) in a fresh tab, where the first chart also loads Plotly's bundle, and again
  once Plotly is loaded; and opening the Compare address cold (a refresh or a shared link: that
  includes loading the whole app).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ui_speed import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402

TARGET_MS = 1000.0
CHARTS = ("#compare-train-loss", "#compare-validation-loss", "#compare-metric-chart")
# Every chart drawn with one trace per run, the first named ``first`` (so a redraw of the page for
# another order of the same runs is told from the last one): Plotly's own record of what it plotted
# (gd.calcdata, one entry per trace) and, for each trace, its drawing: an SVG path, or for WebGL
# traces the canvas. (Scattergl traces draw no SVG, so `.scatterlayer .trace` never appears for them.)
DRAWN_JS = """([selectors, runs, first]) => selectors.every(selector => {
    const plot = document.querySelector(selector + ' .js-plotly-plot');
    if (!plot || !plot.calcdata || plot.calcdata.length !== runs || plot.data[0].name !== first) return false;
    const svg = plot.querySelectorAll('.scatterlayer .trace path.js-line').length;
    const gl = plot.querySelector('canvas.gl-canvas-context');
    return svg === runs || (gl !== null && plot._fullLayout._has('gl'));
})"""
# The page's data has arrived: the header names the first run of this order.
ARRIVED_JS = """(first) => (document.querySelector('#compare-header')?.innerText || '').startsWith('Compare') &&
    document.querySelector('#compare-header a')?.innerText === first"""


def seed(home: Path, runs: int, points: int) -> list[str]:
    from studio.store import Store
    from studio.store.database import forget_database
    from tests.compare_runs import completed_run

    store = Store(home)
    ids = [completed_run(store, home, f"run-{i}", 1e-4 * (i + 1), points=points, quality=0.5 + i / 2)["id"]
           for i in range(runs)]
    forget_database(home / "db.json")
    return ids


def server_ms(home: Path, ids: list[str]) -> tuple[float, float, int]:
    """(build ms, serialise ms, bytes of the three charts): what on_load of the Compare page does."""
    import gradio as gr

    from studio.services.context import AppContext
    from studio.store.database import forget_database
    from studio.ui import compare, compare_charts

    ctx = AppContext.open(home, start_runner=False)
    try:
        started = time.perf_counter()
        comparison = ctx.compare.load(ids)
        metric = next(m for m in comparison.shared_metrics if m != "loss")
        figures = [compare_charts.overlay(comparison, "train", "loss", "Training loss"),
                   compare_charts.overlay(comparison, "validation", "loss", "Validation loss"),
                   compare_charts.overlay(comparison, "validation", metric, f"Validation {metric}")]
        compare._styled_metrics(ctx, comparison)
        ctx.compare.config_diff(comparison)
        compare._predictions(ctx, comparison)
        compare._win_rates(ctx, comparison)  # (the project-wide chart is drawn when its accordion opens)
        built = time.perf_counter()
        sent = [gr.Plot().postprocess(figure) for figure in figures]
        serialised = time.perf_counter()
        size = sum(len(plot.plot) for plot in sent)
    finally:
        ctx.close()
        forget_database(home / "db.json")
    return (built - started) * 1000, (serialised - built) * 1000, size


def browser_ms(tab, base: str, ids: list[str], names: list[str], cold: bool) -> tuple[float, float]:
    """(data arrived, every chart drawn) in ms from the navigation to Compare: ``cold`` opens its address
    (a refresh, a shared link: the whole app loads), else it moves there from the Home view of the loaded
    app (what the list's Compare button does)."""
    address = f"?view=compare&ids={','.join(ids)}"
    if cold:
        started = time.perf_counter()
        tab.goto(f"{base}/{address}")
    else:
        tab.evaluate("(target) => window.studioGo(target)", "?view=home")
        tab.wait_for_selector("#card-datasets", state="visible")
        tab.wait_for_timeout(1500)  # the home view's own load has finished
        started = time.perf_counter()
        tab.evaluate("(target) => window.studioGo(target)", address)
    tab.wait_for_function(ARRIVED_JS, arg=names[0], polling="raf")
    arrived = time.perf_counter()
    tab.wait_for_function(DRAWN_JS, arg=[list(CHARTS), len(ids), names[0]], polling="raf")
    return (arrived - started) * 1000, (time.perf_counter() - started) * 1000


def new_tab(browser, base: str | None):
    tab = browser.new_page(viewport={"width": 1440, "height": 1000})
    tab.set_default_timeout(120_000)
    if base:
        tab.goto(f"{base}/?view=home")
        tab.wait_for_selector("#card-datasets")
    return tab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        ids = seed(home, args.runs, args.points)
        server = [server_ms(home, ids) for _ in range(args.repeats)]
        print(f"Compare page, {args.runs} runs × {args.points} points (target {TARGET_MS:.0f} ms), best / median of "
              f"{args.repeats}:", flush=True)
        report("server: load + build every figure and table", [s[0] for s in server])
        report("server: serialise the 3 charts for the browser", [s[1] for s in server])
        print(f"  charts sent: {server[0][2] / 1024:.0f} KiB", flush=True)
        names = [f"run-{i}" for i in range(args.runs)]
        orders = [(ids[k:] + ids[:k], names[k:] + names[:k]) for k in range(args.repeats)]  # a new page each time
        with sync_playwright() as p, running_app(home) as (base, _pid):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            time.sleep(5)  # let the start settle (imports, first reads)
            first = []
            for order, order_names in orders:  # a fresh tab: Plotly's 4.6 MB bundle loads on the first chart
                tab = new_tab(browser, base)
                first.append(browser_ms(tab, base, order, order_names, cold=False))
                tab.close()
            tab = new_tab(browser, base)
            browser_ms(tab, base, ids[::-1], names[::-1], cold=False)  # Plotly is loaded from here on
            again = [browser_ms(tab, base, order, order_names, cold=False) for order, order_names in orders]
            tab.close()
            cold = []
            for order, order_names in orders:
                tab = new_tab(browser, None)
                cold.append(browser_ms(tab, base, order, order_names, cold=True))
                tab.close()
            browser.close()
        for label, figures in (("Compare from Home, first chart of the tab", first),
                               ("Compare from Home, Plotly already loaded", again),
                               ("Compare address opened cold", cold)):
            report(f"browser: {label}: data arrived", [f[0] for f in figures])
            report(f"browser: {label}: charts drawn", [f[1] for f in figures])
    best = min(f[1] for f in again)
    print(f"  {'under' if best < TARGET_MS else 'OVER'} the {TARGET_MS:.0f} ms target (best figure with Plotly loaded: "
          f"{best:.0f} ms)")


def report(label: str, values: list[float]) -> None:
    print(f"  {label:<72} {min(values):7.0f} ms {statistics.median(values):7.0f} ms", flush=True)


if __name__ == "__main__":
    main()
