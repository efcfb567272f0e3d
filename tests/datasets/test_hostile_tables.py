"""Hostile CSV, JSON, JSONL and Parquet uploads, generated here, through the real importer.

Each attack of issue 9 (items 5, 6, 8) is a class of generated inputs; every one must end in a
row or a DatasetError naming the row, quickly, in bounded memory, with the store intact.
"""
from __future__ import annotations

import base64
import io
import json
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.config.data_bounds import MAX_CATEGORY_ID, MAX_COLUMNS, MAX_NESTING_DEPTH
from studio.datasets import import_dataset, load_dataframe
from studio.store import Store
from tests.datasets.hostile_corpus import attempt, png

FUZZ = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TABLE_FILES = ["d.csv", "d.json", "d.jsonl"]


@pytest.fixture()
def store(studio_home):
    return Store()


def as_file(records: list[dict], filename: str) -> bytes:
    if filename.endswith(".jsonl"):
        return "\n".join(json.dumps(r) for r in records).encode()
    if filename.endswith(".json"):
        return json.dumps(records).encode()
    raise ValueError(filename)


def parquet_of(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@FUZZ
@given(digits=st.integers(20, 6000), negative=st.booleans(), filename=st.sampled_from(TABLE_FILES),
       nested=st.booleans())
def test_integers_beyond_64_bits_are_refused_with_the_row(store, digits, negative, filename, nested):
    literal = ("-" if negative else "") + "9" * digits
    if filename.endswith(".csv"):
        data = f"text,number\nfine,1\nbad,{literal}\n".encode()
    else:
        value = f"[1, {literal}]" if nested else literal
        data = (f'[{{"text": "fine", "number": 1}}, {{"text": "bad", "number": {value}}}]' if filename.endswith(".json")
                else f'{{"text": "fine", "number": 1}}\n{{"text": "bad", "number": {value}}}\n').encode()
    message = attempt(store, data, filename, "integer over 64 bits")
    assert f"row 2, column 'number': an integer with {digits} digits" in message


@FUZZ
@given(depth=st.integers(MAX_NESTING_DEPTH + 1, 20_000), filename=st.sampled_from(TABLE_FILES + ["d.parquet"]),
       opener=st.sampled_from("[{"))
def test_deep_nesting_is_refused_in_json_jsonl_csv_cells_and_parquet(store, depth, filename, opener):
    if filename.endswith(".parquet"):
        depth = min(depth, 60)  # Arrow itself caps nesting; 60 levels is past ours
        value = 1
        for _ in range(depth):
            value = [value]
        data = parquet_of(pa.table({"deep": [value]}))
    else:
        inner = ('{"a": ' * depth + "1" + "}" * depth) if opener == "{" else ("[" * depth + "1" + "]" * depth)
        if filename.endswith(".csv"):
            data = ('a,b\n"' + inner.replace('"', '""') + '",x\n').encode()
        else:
            data = (f'[{{"deep": {inner}}}]' if filename.endswith(".json") else f'{{"deep": {inner}}}').encode()
    message = attempt(store, data, filename, "deep nesting")
    assert "nested" in message and "deep" in message


@FUZZ
@given(code=st.integers(0xD800, 0xDFFF), where=st.sampled_from(["value", "key", "nested value", "nested key"]),
       filename=st.sampled_from(["d.json", "d.jsonl"]))
def test_unpaired_surrogates_are_refused_with_the_row(store, code, where, filename):
    bad = f"\\u{code:04x}"
    cell = {"value": f'"x{bad}"', "key": '"x"', "nested value": f'[{{"t": "{bad}"}}]',
            "nested key": f'{{"{bad}": 1}}'}[where]
    key = f"k{bad}" if where == "key" else "text"
    records = f'{{"text": "fine"}}, {{"{key}": {cell}}}'
    data = (f"[{records}]" if filename == "d.json" else records.replace("}, {", "}\n{")).encode()
    message = attempt(store, data, filename, "unpaired surrogate")
    assert "unpaired surrogate" in message and (where == "key" or "row 2" in message)


@FUZZ
@given(metadata=st.one_of(st.binary(max_size=64), st.sampled_from([b"{bogus", b"[]", b'{"columns": 5}', b"null",
                                                                   b'{"index_columns": ["nope"], "columns": []}'])))
def test_bogus_pandas_metadata_in_parquet_is_a_clean_error(store, metadata):
    table = pa.table({"input": ["a", "b"], "output": ["c", "d"]}).replace_schema_metadata({b"pandas": metadata})
    attempt(store, parquet_of(table), "d.parquet", "bogus parquet metadata")


@FUZZ
@given(category=st.one_of(st.integers(MAX_CATEGORY_ID + 1, 10 ** 12), st.integers(-10 ** 12, -1)),
       layout=st.sampled_from(["json", "jsonl", "csv json text", "parquet"]))
def test_coco_category_ids_beyond_the_bound_are_refused_with_the_row(store, category, layout):
    image = base64.b64encode(png()).decode()
    good = {"bbox": [[0, 0, 1, 1]], "category": [0]}
    bad = {"bbox": [[0, 0, 1, 1], [1, 1, 1, 1]], "category": [1, category]}
    records = [{"image": image, "annotation": good}, {"image": image, "annotation": bad}]
    if layout == "csv json text":
        data, filename = pd.DataFrame([{**r, "annotation": json.dumps(r["annotation"])} for r in records]) \
            .to_csv(index=False).encode(), "d.csv"
    elif layout == "parquet":
        data, filename = parquet_of(pa.Table.from_pylist(records)), "d.parquet"
    else:
        filename = f"d.{layout}"
        data = as_file(records, filename)
    message = attempt(store, data, filename, "COCO category id out of bounds")
    assert "row 2, column 'annotation'" in message and f"category id {category}" in message


@FUZZ
@given(header=st.integers(1, 6), surplus=st.integers(1, 4), bad_row=st.integers(1, 5))
def test_a_csv_row_with_more_fields_than_the_header_is_refused_with_its_row(store, header, surplus, bad_row):
    lines = [",".join(f"c{i}" for i in range(header))]
    for row in range(1, 6):
        fields = header + (surplus if row == bad_row else 0)
        lines.append(",".join(str(row * 10 + i) for i in range(fields)))
    message = attempt(store, ("\n".join(lines) + "\n").encode(), "d.csv", "CSV row with surplus fields")
    assert f"row {bad_row}" in message and f"has {header + surplus} fields but the header has {header}" in message


@FUZZ
@given(bad_row=st.integers(1, 4), damage=st.sampled_from(["truncate", "bad characters", "garbage payload"]),
       data_uri=st.booleans())
def test_broken_base64_images_are_reported_with_the_row_not_stored_as_text(store, bad_row, damage, data_uri):
    good = base64.b64encode(png((8, 8))).decode()
    broken = {"truncate": good[: len(good) // 2], "bad characters": good[:40] + "!!@@" + good[44:],
              "garbage payload": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 80).decode()}[damage]
    prefix = "data:image/png;base64," if data_uri else ""
    cells = [prefix + (broken if row == bad_row else good) for row in range(1, 5)]
    data = pd.DataFrame({"image": cells, "label": list("abab")}).to_csv(index=False).encode()
    message = attempt(store, data, "d.csv", "broken base64 image")
    assert f"column 'image', row {bad_row}" in message


@FUZZ
@given(payload=st.binary(min_size=1, max_size=512), filename=st.sampled_from(TABLE_FILES + ["d.parquet"]))
def test_random_bytes_in_any_format_never_crash_the_importer(store, payload, filename):
    attempt(store, payload, filename, "random bytes")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@FUZZ
@given(records=st.lists(st.dictionaries(st.text(min_size=1, max_size=12), JSON_VALUES, min_size=1, max_size=5),
                        min_size=1, max_size=6),
       filename=st.sampled_from(["d.json", "d.jsonl", "d.parquet"]))
def test_arbitrary_json_shaped_records_import_or_are_refused_cleanly(store, records, filename):
    if filename == "d.parquet":
        try:
            data = parquet_of(pa.Table.from_pylist(records))
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            return  # Arrow cannot write these records: nothing to upload
    else:
        data = as_file(records, filename)
    outcome = attempt(store, data, filename, "arbitrary JSON records")
    if isinstance(outcome, dict):
        assert len(load_dataframe(outcome["id"], store.home)) == outcome["rows"]


def test_too_many_columns_are_refused_at_once_and_the_widest_allowed_file_is_quick(store):
    """10,000 columns took 76 s to import (issue 9); now refused in well under a second, and a file
    at the bound (MAX_COLUMNS columns, one row) imports in a few seconds."""
    def wide(n):
        return (",".join(f"c{i}" for i in range(n)) + "\n" + ",".join(str(i) for i in range(n)) + "\n").encode()

    started = time.monotonic()
    assert "10000 columns, more than the" in attempt(store, wide(10_000), "wide.csv", "too many columns")
    assert time.monotonic() - started < 1.0
    keys = {f"k{i}": i for i in range(MAX_COLUMNS + 1)}
    assert "more than the" in attempt(store, json.dumps([keys]).encode(), "wide.json", "too many columns")
    assert "more than the" in attempt(store, json.dumps([{f"k{i}": 1} for i in range(MAX_COLUMNS + 5)]).encode(),
                                      "keys.json", "too many columns")
    # Accepted, so it is profiled and written: 0.55 s on an idle machine, 6.5 s measured with ~8 jobs
    # sharing 2 cores; the bound leaves room for such load.
    row = attempt(store, wide(MAX_COLUMNS), "widest.csv", "too many columns", time_limit_s=20)
    assert row["rows"] == 1 and len(row["columns"]) == MAX_COLUMNS


def test_a_good_import_still_works_after_the_corpus(store):
    for payload, filename in ((b"a,b\n" + b"9" * 400 + b",x\n", "bad.csv"), (b'[{"a": "\\ud800"}]', "bad.json")):
        attempt(store, payload, filename, "integer over 64 bits" if filename == "bad.csv" else "unpaired surrogate")
    row = import_dataset(store, b"input,output\nhi,there\n", "ok.csv", "fine")
    assert [d["id"] for d in store.datasets.list()] == [row["id"]]
