"""Previews that read well: image datasets show thumbnails, prediction tables rounded probabilities."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from studio.datasets import import_dataset
from studio.store import Store
from studio.ui.dataset_thumbnails import dataset_thumbnails_html
from studio.ui.prediction_view import prediction_view as _predictions

DATA = Path(__file__).resolve().parents[2] / "assets" / "data"


def test_an_image_dataset_preview_shows_thumbnails_and_a_text_one_none(studio_home):
    store = Store(studio_home)
    images = import_dataset(store, DATA / "demo_colors_images.parquet", "demo_colors_images.parquet", "colours")
    gallery = dataset_thumbnails_html(images["id"], studio_home)
    assert gallery.count("<img src='data:image/jpeg;base64,") == 12
    text = import_dataset(store, DATA / "demo_instructions.csv", "demo_instructions.csv", "text")
    assert dataset_thumbnails_html(text["id"], studio_home) == ""


def test_prediction_tables_show_probabilities_rounded(tmp_path):
    path = tmp_path / "predictions.parquet"
    pd.DataFrame({"target": [1, 0], "prediction": [1, 0],
                  "probability_1": np.array([0.123456789, 0.87654321], dtype=np.float32),
                  "probabilities": [np.array([0.1, 0.9], dtype=np.float32), np.array([0.7, 0.3], dtype=np.float32)]}
                 ).to_parquet(path)
    table, thumbnails = _predictions(None, {"problem_type": "text_causal_classification_modeling"}, path)
    assert table["probability_1"].tolist() == [0.1235, 0.8765]  # exactly, not 0.12349999696016312
    assert table["probabilities"].tolist() == ["0.100, 0.900", "0.700, 0.300"]
    assert thumbnails == ""
