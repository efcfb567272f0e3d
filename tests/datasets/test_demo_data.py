"""The shipped demo datasets are reproducible, small, and import cleanly."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from studio.datasets import import_dataset, load_dataframe, load_profile
from studio.store import Store

DATA = Path(__file__).resolve().parents[2] / "assets" / "data"
DEMOS = ["demo_instructions.csv", "demo_chat.jsonl", "demo_sentiment.csv"]


def test_generator_reproduces_the_committed_files(tmp_path):
    spec = importlib.util.spec_from_file_location("make_demo_data", DATA / "make_demo_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in DEMOS:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
        assert (DATA / name).stat().st_size < 300_000


@pytest.mark.parametrize("name, rows, suggested", [
    ("demo_instructions.csv", 300, {"input_column": "input", "output_column": "output", "system_column": "system",
                                    "problem_type": "text_causal_language_modeling"}),
    ("demo_chat.jsonl", 100, {"conversation_column": "messages", "looks_like_conversation": True}),
    ("demo_sentiment.csv", 300, {"input_column": "text", "output_column": "label",
                                 "problem_type": "text_causal_classification_modeling"}),
])
def test_demo_datasets_import_with_the_right_column_guesses(studio_home, name, rows, suggested):
    store = Store()
    row = import_dataset(store, DATA / name, name, name)
    assert row["rows"] == rows
    profile = load_profile(row["id"])
    assert {k: profile["suggested"][k] for k in suggested} == suggested
    frame = load_dataframe(row["id"])
    if name == "demo_chat.jsonl":
        first = frame["messages"][0]
        assert isinstance(first, list) and {m["role"] for m in first} >= {"user", "assistant"}
        assert len([m for m in first if m["role"] == "user"]) >= 3


@pytest.mark.parametrize("name, problem_type", [
    ("demo_colors_images.parquet", "image_classification"),
    ("demo_colors_vqa.parquet", "multimodal_causal_language_modeling"),
    ("demo_boxes_detection.parquet", "object_detection"),
])
def test_image_demo_datasets_are_recognised(studio_home, name, problem_type):
    if not (DATA / name).exists():
        pytest.skip(f"{name} is made by assets/data/make_image_demo_data.py and is not present")
    row = import_dataset(Store(), DATA / name, name, name)
    profile = load_profile(row["id"])
    assert profile["image_columns"] == ["image"]
    assert profile["suggested"]["problem_type"] == problem_type
