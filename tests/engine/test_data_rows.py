"""Data errors name the user's own row numbers (from 1), wherever shuffling and sampling moved the row."""
from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from PIL import Image

from studio.config import from_dict
from training.classifier import LabelSpace
from training.data import load_splits, row_numbers
from training.errors import DatasetError
from training.images import check_images
from training.problems.object_detection import parse_split
from training.text_samples import rows_to_samples

BAD_ROW = 4  # the user's row number (the 4th data row), i.e. position 3 in the file


def _splits(tmp_path, frame: pd.DataFrame, **dataset):
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    cfg = from_dict({"dataset": {"train_dataframe": str(path), **dataset}})
    return load_splits(cfg, [], seed=7)


def _holding(train, validation, row: int):
    """(split name, position) of the user's row after the split."""
    for name, split in (("train", train), ("validation", validation)):
        if row in row_numbers(split.frame):
            return name, row_numbers(split.frame).index(row)
    raise AssertionError(f"row {row} is in no split")


def test_row_numbers_survive_shuffle_split_sample_and_merge(tmp_path):
    frame = pd.DataFrame({"id": range(1, 41)})
    train, validation, _ = _splits(tmp_path, frame, validation_size=0.25, data_sample=0.5,
                                   data_sample_choice=["Train", "Validation"])
    for split in (train, validation):
        assert row_numbers(split.frame) == split.frame["id"].tolist()
    assert row_numbers(train.frame) != sorted(row_numbers(train.frame))  # shuffled, numbers kept
    cfg = from_dict({"dataset": {"train_dataframe": str(tmp_path / "data.parquet")},
                     "training": {"train_validation_data": True}})
    merged, validation, _ = load_splits(cfg, [], seed=7)
    assert row_numbers(merged.frame) == merged.frame["id"].tolist() and len(merged.frame) == 40


def test_empty_label_names_its_row_in_the_original_table(tmp_path):
    labels = ["a", "b"] * 10
    labels[BAD_ROW - 1] = None
    train, validation, _ = _splits(tmp_path, pd.DataFrame({"y": labels}), validation_size=0.25)
    name, position = _holding(train, validation, BAD_ROW)
    assert position != BAD_ROW - 1  # the shuffle moved it
    with pytest.raises(DatasetError) as info:
        LabelSpace.detect([train.frame, validation.frame], ["y"], None)
    assert str(info.value) == f"y column: empty label in {name} row {BAD_ROW}"


def test_bad_conversation_names_its_row_in_the_original_table(tmp_path):
    good = json.dumps([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}])
    cells = [good] * 20
    cells[BAD_ROW - 1] = "not json"
    train, validation, _ = _splits(tmp_path, pd.DataFrame({"messages": cells}), validation_size=0.25)
    name, position = _holding(train, validation, BAD_ROW)
    assert position != BAD_ROW - 1
    cfg = from_dict({"dataset": {"train_dataset_id": "x", "unroll_conversations": True, "output_column": None}})
    split = train if name == "train" else validation
    with pytest.raises(DatasetError, match=f"^{name} row {BAD_ROW}, column 'messages': not a JSON list"):
        rows_to_samples(split.frame, cfg, name)


def test_unreadable_image_and_bad_annotation_name_their_rows_in_the_original_table(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    images = [buffer.getvalue()] * 20
    images[BAD_ROW - 1] = b"junk"
    boxes = [json.dumps({"bbox": [[0, 0, 4, 4]], "category": [0]})] * 20
    boxes[BAD_ROW - 1] = json.dumps({"bbox": [[0, 0, 4, 4]], "category": [0, 1]})
    train, validation, _ = _splits(tmp_path, pd.DataFrame({"image": images, "output": boxes}), validation_size=0.25)
    name, position = _holding(train, validation, BAD_ROW)
    assert position != BAD_ROW - 1
    split = train if name == "train" else validation
    with pytest.raises(DatasetError, match=f"unreadable image\\(s\\): row {BAD_ROW} "):
        check_images(split.frame["image"].tolist(), rows=row_numbers(split.frame), root=None, column="image",
                     split=name)
    with pytest.raises(DatasetError, match=f"row {BAD_ROW}: 1 boxes but 2 categories"):
        parse_split(split.frame, "output", [(8, 8)] * len(split.frame), name, None)
