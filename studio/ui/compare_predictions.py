"""The Compare page's side-by-side validation predictions: for image runs, each row's thumbnail next to
the runs' predictions (an object detection run's cell is the image with that run's boxes drawn on it)."""
from __future__ import annotations

import html
import math

import gradio as gr
import pandas as pd

from studio.config.problem_types import OBJECT_DETECTION
from studio.ui.prediction_gallery import caption, parse_boxes, thumbnail_uri

THUMB_PX = 80  # smaller than the gallery's: a table row holds one per run
IMAGE_COLUMN = "image"


def predictions_table(frame: pd.DataFrame, images: dict[int, bytes | None], problem_type: str,
                      run_names: list[str]) -> gr.Dataframe:
    """``frame`` (row, prompt, target, one column per run) as the table shows it: with an image column
    (HTML cells) when ``images`` has the rows' images, as plain text otherwise."""
    if frame.empty or "row" not in frame.columns or not any(images.values()):
        return gr.Dataframe(value=frame, datatype="str")
    shown = frame.copy()
    detection = problem_type == OBJECT_DETECTION
    rows = [int(r) for r in shown["row"]]
    true_boxes = [parse_boxes(t) for t in shown["target"]] if detection and "target" in shown.columns \
        else [()] * len(rows)
    shown.insert(1, IMAGE_COLUMN, [_picture(images.get(r), r, boxes) for r, boxes in zip(rows, true_boxes)])
    html_columns = {IMAGE_COLUMN}
    if detection:
        for name in (n for n in run_names if n in shown.columns):
            shown[name] = [_run_cell(images.get(r), r, target, predicted, boxes)
                           for r, target, predicted, boxes in zip(rows, shown.get("target", [None] * len(rows)),
                                                                  shown[name], true_boxes)]
            html_columns.add(name)
    for column in shown.columns:  # text shown in an HTML column must not be read as markup
        if column not in html_columns and column != "row":
            shown[column] = shown[column].map(lambda v: "" if _missing(v) else str(v))
    datatype = ["html" if c in html_columns else "number" if c == "row" else "str" for c in shown.columns]
    return gr.Dataframe(value=shown, datatype=datatype)


def _picture(data: bytes | None, row: int, boxes=(), predicted=()) -> str:
    uri = thumbnail_uri(data, boxes, predicted, size=THUMB_PX)
    return f"<img src='{uri}' alt='row {row}' width='{THUMB_PX}'>" if uri else "image unavailable"


def _run_cell(data: bytes | None, row: int, target, predicted, true_boxes) -> str:
    """One detection run's prediction: the image with its predicted boxes (amber) and the true ones (green)."""
    if _missing(predicted):  # this run has no prediction for the row (an outer join)
        return ""
    text, _right = caption({"target": target, "prediction": predicted}, OBJECT_DETECTION)
    return f"{_picture(data, row, true_boxes, parse_boxes(predicted))}<br>{html.escape(text)}"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
