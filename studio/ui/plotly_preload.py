"""Plotly's bundle loaded while the page is idle, so the first chart of a tab does not wait for it.

Gradio's Plot component imports its Plotly renderer (one 4.6 MB module) only when a chart is first
drawn: in a fresh tab that added 1.1-1.3 s to the first Compare page or experiment chart (the data
itself arrived in 0.3 s; bench/compare_render.py). The page imports the same module, by the same
address, a few seconds after it opened, when the browser is idle; Gradio's later import then finds
it loaded.
"""
from __future__ import annotations

from pathlib import Path

import gradio

ASSETS = Path(gradio.__file__).resolve().parent / "templates" / "frontend" / "assets"
CHUNK_PREFIX = "PlotlyPlot-"
SETTLE_MS = 3000  # after the page's own load events, which the import must not slow down


def plotly_chunk(assets: Path = ASSETS) -> str | None:
    """The file name of the installed Gradio's Plotly renderer, or None if this build has none."""
    found = sorted(assets.glob(f"{CHUNK_PREFIX}*.js")) if assets.is_dir() else []
    return found[0].name if len(found) == 1 else None


def preload_script(assets: Path = ASSETS) -> str:
    """A <script> for the page head ("" when the chunk is not found: charts still load it themselves)."""
    chunk = plotly_chunk(assets)
    if chunk is None:
        return ""
    return f"""<script>
(() => {{
  const load = () => import(new URL("./assets/{chunk}", document.baseURI).href).catch(() => {{}});
  const whenIdle = () => (window.requestIdleCallback || ((fn) => setTimeout(fn, 0)))(load, {{ timeout: 10000 }});
  // Gradio may add the head's scripts once the page has loaded.
  if (document.readyState === "complete") setTimeout(whenIdle, {SETTLE_MS});
  else window.addEventListener("load", () => setTimeout(whenIdle, {SETTLE_MS}));
}})();
</script>"""
