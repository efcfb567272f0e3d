"""The experiment chart: losses on the left axis, the chosen validation metrics (Perplexity, Accuracy, mAP...) on the right."""
from __future__ import annotations

import plotly.graph_objects as go

LOSS_SERIES = (("train", "loss", "Training loss"), ("validation", "loss", "Validation loss"))
RIGHT_AXIS_DEFAULT = "Perplexity"


def metric_names(records: list[dict]) -> list[str]:
    """Validation metrics present in the run besides the loss (what the selector offers)."""
    names = []
    for record in records:
        name = record.get("name")
        if record.get("split") == "validation" and name not in ("loss", "lr") and name not in names:
            names.append(name)
    return names


def default_choice(names: list[str], selected: list[str] | None = None) -> list[str]:
    """What the right axis shows first: the run's first selected metric it reports (``selected`` in
    the config's order, e.g. Accuracy for a classifier, mAP for detection), else validation
    Perplexity, else the first metric reported."""
    for name in selected or []:
        if name in names:
            return [name]
    if RIGHT_AXIS_DEFAULT in names:
        return [RIGHT_AXIS_DEFAULT]
    return names[:1]


def build_figure(records: list[dict], right_metrics: list[str] | None = None) -> go.Figure:
    series: dict[tuple[str, str], tuple[list, list]] = {}
    for record in records:
        key = (record.get("split"), record.get("name"))
        value, step = record.get("value"), record.get("step")
        if value is None or step is None:
            continue
        xs, ys = series.setdefault(key, ([], []))
        xs.append(step)
        ys.append(value)
    figure = go.Figure()
    for split, name, label in LOSS_SERIES:
        if (split, name) in series:
            xs, ys = series[(split, name)]
            figure.add_trace(go.Scatter(x=xs, y=ys, name=label, mode="lines+markers" if split == "validation"
                                        else "lines", yaxis="y"))
    right = list(right_metrics if right_metrics is not None else default_choice(metric_names(records)))
    for name in right:
        if ("validation", name) in series:
            xs, ys = series[("validation", name)]
            figure.add_trace(go.Scatter(x=xs, y=ys, name=f"Validation {name}", mode="lines+markers",
                                        yaxis="y2", line={"dash": "dot"}))
    figure.update_layout(
        xaxis={"title": "step"},
        yaxis={"title": "loss"},
        yaxis2={"title": " / ".join(n for n in right if ("validation", n) in series) or "metric",
                "overlaying": "y", "side": "right", "showgrid": False},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 50, "r": 50, "t": 30, "b": 40},
        height=380,
    )
    if not series:
        figure.add_annotation(text="No metrics yet: they appear as the run trains.", showarrow=False,
                              xref="paper", yref="paper", x=0.5, y=0.5)
    return figure
