"""A run's validation predictions as the experiment page shows them: a rounded table and image thumbnails."""
from __future__ import annotations

import pandas as pd

from studio.config.problem_types import IMAGE_TYPES
from studio.services.prediction_images import run_validation_images
from studio.ui.prediction_gallery import MAX_THUMBNAILS, gallery_html

PREDICTION_ROWS = 200


def prediction_view(ctx, row: dict, path) -> tuple | None:
    """The predictions table and, for image problem types, its thumbnails (HTML); None while being written."""
    if not path.is_file():
        return pd.DataFrame(), ""
    try:
        frame = pd.read_parquet(path)
    except Exception:
        return None
    thumbnails = ""
    if row.get("problem_type") in IMAGE_TYPES and "row" in frame.columns:
        thumbnails = thumbnails_html(ctx, row, frame.head(MAX_THUMBNAILS))
    table = frame.head(PREDICTION_ROWS)
    # float32 probabilities rounded as float32 still print as 0.123400002: round them as float64.
    table = table.astype({c: "float64" for c in table.columns if str(table[c].dtype) == "float32"}).round(4)
    for column in table.columns:
        if table[column].map(lambda v: isinstance(v, (bytes, bytearray))).any():
            table[column] = "<image>"
        elif table[column].map(lambda v: hasattr(v, "tolist")).any():  # lists of probabilities
            table[column] = table[column].map(lambda v: ", ".join(f"{x:.3f}" for x in v.tolist())
                                              if hasattr(v, "tolist") else v)
    return table, thumbnails


def thumbnails_html(ctx, row: dict, frame: pd.DataFrame) -> str:
    images = run_validation_images(ctx.experiments, row, frame["row"].tolist())
    return gallery_html(frame, images, row.get("problem_type"))
