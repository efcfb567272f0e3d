"""Dataset import: every format, nested columns, images in zips, profiles, preview, delete."""
from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from studio.datasets import (DatasetError, columns, delete_dataset, import_dataset, load_dataframe,
                             load_profile, preview)
from studio.store import Store

ROWS = [{"input": "Reverse the word: abc", "output": "cba"}, {"input": "Capitalize: hi", "output": "HI"},
        {"input": "What is 2 + 3?", "output": "5"}]
CHATS = [
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi, I am Ada."},
                  {"role": "assistant", "content": "Nice to meet you, Ada!"}]},
    {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]},
]
COCO = [
    {"file": "a", "annotation": {"bbox": [[1, 2, 3, 4], [5, 6, 7, 8]], "category": [0, 2]}},
    {"file": "b", "annotation": {"bbox": [], "category": [], "iscrowd": 0}},  # keys differ: stored as JSON text
]


@pytest.fixture()
def store(studio_home):
    return Store()


def png(color=(255, 0, 0), size=(6, 5)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def image_zip(index_name="index.csv", index_text=None, images=None) -> bytes:
    images = images if images is not None else {"imgs/cat.png": png((1, 2, 3)), "imgs/dog.png": png((9, 9, 9))}
    index_text = index_text or "image,label\nimgs/cat.png,cat\n./imgs/dog.png,dog\nimgs/cat.png,cat\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in images.items():
            archive.writestr(name, data)
        archive.writestr(index_name, index_text)
    return buffer.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def nothing_left(store) -> bool:
    folder = store.home / "datasets"
    return store.datasets.list() == [] and (not folder.exists() or not any(folder.iterdir()))


FORMATS = {
    "csv": ("d.csv", pd.DataFrame(ROWS).to_csv(index=False).encode()),
    "json records": ("d.json", json.dumps(ROWS).encode()),
    "json columns": ("d.json", json.dumps({"input": [r["input"] for r in ROWS],
                                           "output": [r["output"] for r in ROWS]}).encode()),
    "jsonl": ("d.jsonl", "\n".join(json.dumps(r) for r in ROWS).encode() + b"\n\n"),
    "parquet": ("d.parquet", parquet_bytes(pd.DataFrame(ROWS))),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_table_format_imports_to_parquet_with_profile(store, fmt):
    filename, data = FORMATS[fmt]
    row = import_dataset(store, data, filename, "instructions")
    folder = store.home / "datasets" / row["id"]
    assert (folder / "data.parquet").is_file() and (folder / "profile.json").is_file()
    assert row["rows"] == 3 and row["columns"] == ["input", "output"]
    assert store.datasets.get(row["id"])["project_id"] == store.projects.default_id()
    assert load_dataframe(row["id"]).to_dict(orient="records") == ROWS
    profile = load_profile(row["id"])
    assert profile["rows"] == 3 and len(profile["sample_rows"]) == 3
    assert [(c["name"], c["nulls"], c["unique"], c["kind"]) for c in profile["columns"]] == [
        ("input", 0, 3, "text"), ("output", 0, 3, "text")]
    assert profile["suggested"]["input_column"] == "input" and profile["suggested"]["output_column"] == "output"
    assert columns(row["id"]) == ["input", "output"]


def test_import_from_a_path_on_disk(store, tmp_path):
    path = tmp_path / "upload.csv"
    path.write_text("text,label\ngreat,positive\nawful,negative\n")
    row = import_dataset(store, path, path.name, "from disk")
    assert load_dataframe(row["id"])["label"].tolist() == ["positive", "negative"]


def test_conversation_and_coco_columns_survive_the_round_trip(store):
    records = [dict(chat, **coco) for chat, coco in zip(CHATS, COCO)]
    row = import_dataset(store, json.dumps(records).encode(), "chats.json", "nested")
    frame = load_dataframe(row["id"])
    assert frame.to_dict(orient="records") == records
    assert isinstance(frame["messages"][0], list) and isinstance(frame["annotation"][0]["bbox"], list)
    profile = load_profile(row["id"])
    assert profile["json_columns"] == ["annotation"]  # the messages keep a native Arrow type
    assert profile["suggested"]["conversation_column"] == "messages"
    assert profile["suggested"]["looks_like_conversation"] is True
    schema = pq.read_schema(store.home / "datasets" / row["id"] / "data.parquet")
    assert json.loads(schema.metadata[b"studio.json_columns"]) == ["annotation"]
    assert pa.types.is_list(schema.field("messages").type)


def test_nested_parquet_input_comes_back_as_python_lists(store):
    table = pa.table({"messages": pa.array([c["messages"] for c in CHATS]), "n": [1, 2]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    row = import_dataset(store, buffer.getvalue(), "chats.parquet", "pq chats")
    assert load_dataframe(row["id"])["messages"].tolist() == [c["messages"] for c in CHATS]


def test_mixed_scalar_column_is_stored_as_text(store):
    data = json.dumps([{"q": "a", "v": 1}, {"q": "b", "v": "two"}]).encode()
    row = import_dataset(store, data, "mixed.json", "mixed")
    assert load_dataframe(row["id"])["v"].tolist() == ["1", "two"]
    assert load_profile(row["id"])["coerced_to_text"] == ["v"]


def test_zip_of_images_stores_image_bytes(store):
    row = import_dataset(store, image_zip(), "pets.zip", "pets")
    frame = load_dataframe(row["id"])
    assert frame["image"][0] == png((1, 2, 3)) and frame["image"][1] == png((9, 9, 9))
    assert frame["label"].tolist() == ["cat", "dog", "cat"]
    profile = load_profile(row["id"])
    assert profile["image_columns"] == ["image"] and row["image_columns"] == ["image"]
    assert profile["sample_rows"][0]["image"].startswith("<image/png, ")
    assert profile["suggested"]["image_column"] == "image"
    assert profile["suggested"]["problem_type"] == "image_classification"
    shown = preview(row["id"], rows=2)
    assert len(shown) == 2 and shown["image"][0].startswith("<image/png")


def test_zip_index_in_a_subfolder_resolves_names_relative_to_it(store):
    data = image_zip("set/index.jsonl", '{"img": "a.png", "caption": "red"}\n',
                     images={"set/a.png": png()})
    row = import_dataset(store, data, "set.zip", "captions")
    assert load_dataframe(row["id"])["img"][0] == png()


def test_base64_and_data_uri_images_become_bytes(store):
    import base64
    encoded = base64.b64encode(png()).decode()
    data = json.dumps([{"image": encoded, "label": 0}, {"image": "data:image/png;base64," + encoded, "label": 1}])
    row = import_dataset(store, data.encode(), "b64.json", "b64")
    assert load_dataframe(row["id"])["image"].tolist() == [png(), png()]


def test_long_values_are_shortened_in_samples_and_preview(store):
    data = json.dumps([{"input": "x" * 5000, "output": "y"}]).encode()
    row = import_dataset(store, data, "long.json", "long")
    sample = load_profile(row["id"])["sample_rows"][0]["input"]
    assert len(sample) <= 120 and sample.endswith("…")
    assert preview(row["id"])["input"][0] == sample


@pytest.mark.parametrize("filename, data, expected", [
    ("x.csv", b"", "empty"),
    ("x.csv", b"input,output\n", "no data rows"),
    ("x.csv", b"a,b\n1,2\n3,4,5\n", "line 3"),
    ("x.csv", b"a,b\n\xff\xfe,1\n", "UTF-8"),
    ("x.json", b'[{"a": 1},\n {"a": }]', "line 2"),
    ("x.json", b"[1, 2]", "objects"),
    ("x.json", b'{"a": [1, 2], "b": [1]}', "different lengths"),
    ("x.json", b"[]", "empty"),
    ("x.jsonl", b'{"a": 1}\n{"a": 2\n', "line 2"),
    ("x.jsonl", b'{"a": 1}\n[1]\n', "line 2"),
    ("x.parquet", b"PAR1 not really", "Parquet"),
    ("x.xlsx", b"whatever", "unknown file type"),
    ("x.json", b'[{"a": null}, {"a": null}]', "no usable columns"),
    ("x.zip", b"PK not a zip", "ZIP"),
    ("x.zip", None, "no index file"),
])
def test_bad_uploads_raise_actionable_errors_and_leave_nothing(store, filename, data, expected):
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("a.png", png())
        data = buffer.getvalue()
    with pytest.raises(DatasetError, match=expected) as err:
        import_dataset(store, data, filename, "bad")
    assert filename in str(err.value) or "unknown" in str(err.value)
    assert nothing_left(store)


def test_zip_missing_image_names_the_row(store):
    data = image_zip(index_text="image,label\nimgs/cat.png,cat\nimgs/ghost.png,cat\n")
    with pytest.raises(DatasetError, match=r"row 2 .*ghost\.png.*not in the zip"):
        import_dataset(store, data, "pets.zip", "pets")
    assert nothing_left(store)


def test_broken_image_names_the_row(store):
    data = image_zip(images={"imgs/cat.png": png(), "imgs/dog.png": png()[:30]})
    with pytest.raises(DatasetError, match=r"row 2 .*broken"):
        import_dataset(store, data, "pets.zip", "pets")
    assert nothing_left(store)


def test_broken_image_bytes_in_parquet_name_the_row(store):
    frame = pd.DataFrame({"image": [png(), png()[:40], png()], "label": [0, 1, 0]})
    with pytest.raises(DatasetError, match="row 2"):
        import_dataset(store, parquet_bytes(frame), "imgs.parquet", "imgs")
    assert nothing_left(store)


def test_duplicate_name_in_a_project_is_refused_but_allowed_elsewhere(store):
    filename, data = FORMATS["csv"]
    import_dataset(store, data, filename, "Same")
    with pytest.raises(DatasetError, match="already has a dataset named"):
        import_dataset(store, data, filename, "same")
    other = store.projects.create("Other")
    assert import_dataset(store, data, filename, "Same", project_id=other["id"])["project_id"] == other["id"]
    assert len(list((store.home / "datasets").iterdir())) == 2


def test_failed_database_write_removes_the_imported_folder(store, monkeypatch):
    def refuse(record):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store.datasets, "add", refuse)
    filename, data = FORMATS["csv"]
    with pytest.raises(RuntimeError):
        import_dataset(store, data, filename, "x")
    assert not any((store.home / "datasets").iterdir())


def test_delete_refuses_while_experiments_use_the_dataset(store):
    filename, data = FORMATS["csv"]
    row = import_dataset(store, data, filename, "used")
    store.experiments.add({"name": "exp-a", "dataset_id": row["id"]})
    store.experiments.add({"name": "exp-b", "config": f"dataset:\n  validation_dataset_id: {row['id']}\n"})
    with pytest.raises(DatasetError, match=r"used by 2 experiment\(s\).*exp-"):
        delete_dataset(store, row["id"])
    assert (store.home / "datasets" / row["id"]).is_dir() and store.datasets.get(row["id"])
    delete_dataset(store, row["id"], force=True)
    assert store.datasets.get(row["id"]) is None
    assert not any((store.home / "datasets").iterdir())
    with pytest.raises(DatasetError, match="no dataset"):
        delete_dataset(store, row["id"])


def test_unused_dataset_is_deleted_with_its_folder(store):
    filename, data = FORMATS["jsonl"]
    row = import_dataset(store, data, filename, "free")
    delete_dataset(store, row["id"])
    assert store.datasets.list() == [] and not any((store.home / "datasets").iterdir())
    with pytest.raises(DatasetError, match="no data file"):
        load_dataframe(row["id"])


def test_a_prompt_chosen_rejected_table_is_guessed_as_preference_data(store, studio_home):
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "assets" / "data" / "demo_preferences.csv"
    dataset = import_dataset(store, str(demo), "demo_preferences.csv", name="prefs")
    suggested = load_profile(dataset["id"], studio_home)["suggested"]
    assert suggested["problem_type"] == "text_dpo_modeling"
    assert (suggested["input_column"], suggested["output_column"], suggested["rejected_output_column"]) == (
        "prompt", "chosen", "rejected")
