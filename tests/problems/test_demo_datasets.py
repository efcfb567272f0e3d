"""The shipped image demo datasets are small, readable and what their generator makes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.problems.conftest import ROOT, demo_data_module
from training.images import check_images, load_image
from training.problems.object_detection import parse_split

DEMO = ROOT / "assets" / "data"


@pytest.mark.parametrize("name", list(demo_data_module().DATASETS))
def test_shipped_demo_file_is_small_readable_and_regenerates_the_same_pixels(name):
    path = DEMO / name
    assert path.stat().st_size < 500_000
    shipped = pd.read_parquet(path)
    sizes = check_images(shipped["image"].tolist(), root=DEMO, column="image", split="demo")
    assert set(sizes) == {(32, 32)}
    regenerated = demo_data_module().DATASETS[name]()
    # Compare pixels, not PNG bytes: encoders may compress differently across versions.
    pd.testing.assert_frame_equal(shipped.drop(columns="image"), regenerated.drop(columns="image"))
    for old, new in zip(shipped["image"], regenerated["image"]):
        assert np.array_equal(np.asarray(load_image(old)), np.asarray(load_image(new)))


def test_detection_demo_annotations_pass_validation():
    frame = pd.read_parquet(DEMO / "demo_boxes_detection.parquet")
    annotations = parse_split(frame, "output", [(32, 32)] * len(frame), "demo", num_classes=None)
    assert {c for a in annotations for c in a.categories} == {0, 1}
