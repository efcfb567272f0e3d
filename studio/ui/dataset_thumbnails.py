"""Thumbnails of a dataset's first images, shown above its preview table (which lists them as
"<image/png, 2.1 KB>"): the columns the profile calls images, read from the dataset's own folder."""
from __future__ import annotations

import html
from pathlib import Path

from studio.datasets.access import data_path, load_profile
from studio.datasets.parquet_io import load_table
from studio.ui.prediction_gallery import THUMB_PX, thumbnail_uri
from studio.services.prediction_images import image_bytes

MAX_DATASET_THUMBNAILS = 12


def dataset_thumbnails_html(dataset_id: str, home: Path, limit: int = MAX_DATASET_THUMBNAILS) -> str:
    """A gallery of the first ``limit`` rows' images ("" for a dataset without an image column)."""
    try:
        columns = [c["name"] for c in load_profile(dataset_id, home).get("columns") or [] if c.get("kind") == "image"]
        if not columns:
            return ""
        path = data_path(dataset_id, home)
        frame = load_table(path, rows=limit)
    except Exception:  # an unreadable dataset already says so in the profile tab
        return ""
    column = columns[0]
    figures = []
    for number, value in enumerate(frame[column].tolist(), start=1):
        uri = thumbnail_uri(image_bytes(value, path.parent))
        picture = (f"<img src='{uri}' alt='row {number}' width='{THUMB_PX}'>" if uri
                   else "<div class='no-image'>image unavailable</div>")
        figures.append(f"<figure data-row='{number}'>{picture}<figcaption class='studio-muted'>row {number}"
                       f"</figcaption></figure>")
    note = f"First {len(figures)} images of column {column!r}."
    return (f"<div class='studio-muted prediction-note'>{html.escape(note)}</div>"
            f"<div class='prediction-gallery dataset-thumbnails'>{''.join(figures)}</div>")
