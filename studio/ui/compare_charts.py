"""Plotly figures of the Compare page: one series overlaid across runs, and hyperparameters vs a metric."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from studio.ui.curve_thinning import thin

COLOURS = px.colors.qualitative.Plotly  # ten distinct colours; a comparison has at most eight runs


def overlay(comparison, split: str, name: str, title: str) -> go.Figure:
    """``split``/``name`` (e.g. validation/Perplexity) of every run, one colour and legend entry per run, each
    curve thinned to about one point per pixel."""
    figure = go.Figure()
    for index, run in enumerate(comparison.runs):
        points = [(r["step"], r["value"]) for r in run.records
                  if r.get("split") == split and r.get("name") == name and r.get("value") is not None]
        if not points:
            continue
        xs, ys = thin(*zip(*points))
        # SVG, not WebGL: at a few thousand points per chart SVG draws several times faster (2.1 s against
        # 0.3 s for the three charts of 8 runs in Chromium without a GPU, bench/compare_render.py), and a
        # page of WebGL charts runs out of browser contexts.
        figure.add_trace(go.Scatter(x=xs, y=ys, name=run.name, mode="lines" if split == "train" else "lines+markers",
                                    line={"color": COLOURS[index % len(COLOURS)]}))
    figure.update_layout(title=title, xaxis={"title": "step"}, yaxis={"title": name},
                         legend={"orientation": "h", "y": -0.25}, margin={"l": 50, "r": 20, "t": 40, "b": 40},
                         height=340)
    return figure


def parallel(frame: pd.DataFrame, metric: str) -> go.Figure:
    """Parallel coordinates of every numeric hyperparameter column, coloured by ``metric``."""
    if frame.empty or metric not in frame.columns:
        figure = go.Figure()
        figure.update_layout(title="No completed experiments of this type report that metric yet", height=200)
        return figure
    columns = [c for c in frame.columns if c not in ("experiment", metric) and frame[c].nunique() > 0]
    dimensions = [{"label": c.split(".", 1)[-1], "values": frame[c]} for c in columns]
    dimensions.append({"label": metric, "values": frame[metric]})
    figure = go.Figure(go.Parcoords(line={"color": frame[metric], "colorscale": "Viridis", "showscale": True},
                                    dimensions=dimensions))
    figure.update_layout(title=f"{len(frame)} completed experiments: settings against {metric}",
                         margin={"l": 60, "r": 60, "t": 60, "b": 30}, height=380)
    return figure
