"""A long curve thinned to about one point per pixel of its chart, keeping what a line chart shows.

Min-max thinning (the per-column aggregation behind M4, Jugel et al., VLDB 2014, and the first stage
of MinMaxLTTB): the points between the first and the last are split into buckets of about two
pixels and each bucket keeps its lowest and its highest point, in step order. The line drawn through
them covers the same vertical extent in every column as the full curve, so a one-step loss spike
stays, where plain striding would drop it. It is a few numpy calls (no loop over points): eight runs
of thousands of points each otherwise cost the browser more to draw than a chart can show.
"""
from __future__ import annotations

import numpy as np

MAX_POINTS = 600  # about the plot area's width in pixels of a Compare chart


def thin(xs, ys, limit: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """``xs``/``ys`` (x increasing) as at most ``limit`` points, the first and the last kept.

    Arrays, not lists: Plotly takes them without checking each value and sends them to the browser
    as packed binary, several times less to build and to parse than a JSON list of numbers."""
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if len(x) <= limit or limit < 4:
        return x, y
    inner = len(x) - 2
    buckets = (limit - 2) // 2
    bucket = np.arange(inner) * buckets // inner  # non-decreasing: bucket of each inner point
    order = np.lexsort((y[1:-1], bucket))  # by bucket, then by value (NaN last: a diverged loss shows)
    by_bucket = bucket[order]
    lowest = order[np.searchsorted(by_bucket, np.arange(buckets), side="left")]
    highest = order[np.searchsorted(by_bucket, np.arange(buckets), side="right") - 1]
    kept = np.unique(np.concatenate(([0], lowest + 1, highest + 1, [len(x) - 1])))
    return x[kept], y[kept]
