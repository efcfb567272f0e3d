"""Thumbnails of validation predictions for the image problem types, as one HTML block.

Each thumbnail is a small JPEG inlined as a data URI (no files to serve or clean up), with a
caption such as ``true: red / predicted: red (0.93)``. For object detection the true boxes
(green) and the predicted boxes (amber, with their score) are drawn on the image. The caller
renders this only when predictions.parquet changed, and at most ``MAX_THUMBNAILS`` of them.
"""
from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from PIL import Image, ImageDraw

from studio.config.problem_types import CLASSIFIER_TYPES, OBJECT_DETECTION
from studio.ui.coco_cell import annotation

MAX_THUMBNAILS = 48
THUMB_PX = 112
TRUE_COLOUR = (22, 163, 74)  # green
PREDICTED_COLOUR = (250, 180, 0)  # amber: stands out on red, blue and grey
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    category: int | None = None
    score: float | None = None


def parse_boxes(value: Any) -> list[Box]:
    """Boxes of a COCO-style cell (``{"bbox": [[x, y, w, h]], "category": [...], "score": [...]}``, or its JSON)."""
    value = annotation(value)
    if value is None:
        return []
    boxes = list(value.get("bbox") or [])
    categories = list(value.get("category") or [])
    scores = list(value.get("score") or [])
    out = []
    for i, box in enumerate(boxes):
        box = list(box) if isinstance(box, (list, tuple)) or hasattr(box, "tolist") else None
        if box is None or len(box) != 4:
            continue
        try:
            x, y, w, h = (float(v) for v in box)
        except (TypeError, ValueError):
            continue
        out.append(Box(x, y, w, h, int(categories[i]) if i < len(categories) else None,
                       float(scores[i]) if i < len(scores) else None))
    return out


def render_thumbnail(data: bytes, true_boxes: list[Box] = (), predicted_boxes: list[Box] = (),
                     size: int = THUMB_PX) -> Image.Image:
    """The image scaled to fit ``size`` (small images are enlarged with crisp pixels), boxes drawn on it."""
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGB")
    scale = size / max(image.width, image.height)
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), resample)
    # Boxes are drawn after scaling so their lines stay 2 px wide whatever the image size.
    draw = ImageDraw.Draw(image)
    for boxes, colour in ((true_boxes, TRUE_COLOUR), (predicted_boxes, PREDICTED_COLOUR)):
        for box in boxes:
            corners = [box.x * scale, box.y * scale, (box.x + box.w) * scale, (box.y + box.h) * scale]
            draw.rectangle(corners, outline=colour, width=2)
            if box.score is not None:
                draw.text((corners[0] + 3, corners[1] + 2), f"{box.score:.2f}", fill=colour)
    return image


def thumbnail_uri(data: bytes | None, true_boxes: list[Box] = (), predicted_boxes: list[Box] = (),
                  size: int = THUMB_PX) -> str | None:
    """A ``data:image/jpeg;base64,...`` thumbnail, or None when ``data`` is not a readable image."""
    if not data:
        return None
    try:
        image = render_thumbnail(data, true_boxes, predicted_boxes, size)
    except Exception:  # not an image (or a truncated one): the caption is still shown
        return None
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def caption(record: dict, problem_type: str) -> tuple[str, bool | None]:
    """The caption of one prediction and whether it is right (None when that is not a yes/no)."""
    if problem_type == OBJECT_DETECTION:
        truth, predicted = parse_boxes(record.get("target")), parse_boxes(record.get("prediction"))
        best = max((b.score for b in predicted if b.score is not None), default=None)
        text = f"true: {_boxes_text(truth)} / predicted: {_boxes_text(predicted)}"
        return text + (f" (best {best:.2f})" if best is not None else ""), None
    target, prediction = _text(record.get("target")), _text(record.get("prediction"))
    text = f"true: {target} / predicted: {prediction}"
    probability = record.get(f"probability_{prediction}")
    if _is_number(probability):
        text += f" ({float(probability):.2f})"
    if problem_type not in CLASSIFIER_TYPES and record.get("prompt"):
        text = f"{_text(record.get('prompt'))}: " + text
    return text, target == prediction


def gallery_html(frame: pd.DataFrame, images: dict[int, bytes | None], problem_type: str,
                 limit: int = MAX_THUMBNAILS) -> str:
    """The thumbnails of the first ``limit`` predictions (``frame`` has a ``row`` column; ``images`` by row)."""
    if frame is None or frame.empty or "row" not in frame.columns:
        return ""
    figures = []
    for record in frame.head(limit).to_dict("records"):
        row = int(record["row"])
        true_boxes = predicted_boxes = ()
        if problem_type == OBJECT_DETECTION:
            true_boxes, predicted_boxes = parse_boxes(record.get("target")), parse_boxes(record.get("prediction"))
        uri = thumbnail_uri(images.get(row), true_boxes, predicted_boxes)
        text, right = caption(record, problem_type)
        picture = (f"<img src='{uri}' alt='row {row}' width='{THUMB_PX}'>" if uri
                   else "<div class='no-image'>image unavailable</div>")
        state = "" if right is None else (" right" if right else " wrong")
        figures.append(f"<figure class='prediction{state}' data-row='{row}'>{picture}"
                       f"<figcaption>{html.escape(text)}<span class='studio-muted'> · row {row}</span>"
                       f"</figcaption></figure>")
    shown = min(limit, len(frame))
    note = f"First {shown} of {len(frame)} validation predictions."
    if problem_type == OBJECT_DETECTION:
        note += " Green: true boxes; amber: predicted boxes scoring at least 0.5, with their score."
    return (f"<div class='studio-muted prediction-note'>{html.escape(note)}</div>"
            f"<div class='prediction-gallery'>{''.join(figures)}</div>")


def _boxes_text(boxes: list[Box]) -> str:
    if not boxes:
        return "no box"
    categories = sorted({b.category for b in boxes if b.category is not None})
    names = f" [{', '.join(str(c) for c in categories)}]" if categories else ""
    return f"{len(boxes)} box{'es' if len(boxes) != 1 else ''}{names}"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _is_number(value: Any) -> bool:
    try:
        return value is not None and not math.isnan(float(value))
    except (TypeError, ValueError):
        return False
