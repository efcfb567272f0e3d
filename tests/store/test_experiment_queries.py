"""Search and sort of the Experiments list."""
from __future__ import annotations

import pytest

from studio.store.experiment_queries import search_experiments, sort_experiments

ROWS = [
    {"id": "aaaa11112222", "name": "Llama LoRA", "dataset_name": "support-chats", "dataset_id": "d0d0d0d0d0d0",
     "status": "Completed", "created": "2024-05-01T10:00:00+00:00"},
    {"id": "bbbb33334444", "name": "danube full", "dataset_name": "Sentiment", "dataset_id": "d1d1d1d1d1d1",
     "status": "Queued", "created": "2024-05-03T10:00:00+00:00"},
    {"id": "cccc55556666", "name": "baseline", "dataset_name": "support-chats", "dataset_id": "d0d0d0d0d0d0",
     "status": "Training", "created": "2024-05-02T10:00:00+00:00"},
    {"id": "dddd77778888", "name": "crashed", "dataset_name": None, "status": "Failed",
     "created": "2024-05-04T10:00:00+00:00"},
]


def names(rows):
    return [r["name"] for r in rows]


@pytest.mark.parametrize("query, expected", [
    ("", ["Llama LoRA", "danube full", "baseline", "crashed"]),
    ("   ", ["Llama LoRA", "danube full", "baseline", "crashed"]),
    ("lora", ["Llama LoRA"]),
    ("SUPPORT", ["Llama LoRA", "baseline"]),
    ("bbbb3333", ["danube full"]),
    ("d1d1", ["danube full"]),
    ("support base", ["baseline"]),
    ("nothing-like-this", []),
])
def test_search_matches_name_dataset_or_id(query, expected):
    assert names(search_experiments(ROWS, query)) == expected


def test_search_does_not_match_other_fields():
    assert search_experiments(ROWS, "Completed") == []


def test_sort_by_created_both_directions():
    assert names(sort_experiments(ROWS, "created", True)) == ["crashed", "danube full", "baseline", "Llama LoRA"]
    assert names(sort_experiments(ROWS, "created", False)) == ["Llama LoRA", "baseline", "danube full", "crashed"]


def test_sort_by_status_follows_the_run_life_cycle_with_newest_first_on_ties():
    rows = ROWS + [{"id": "e", "name": "queued-old", "status": "Queued", "created": "2024-04-01T00:00:00+00:00"},
                   {"id": "f", "name": "no-status", "created": "2024-06-01T00:00:00+00:00"}]
    assert names(sort_experiments(rows, "status", False)) == [
        "danube full", "queued-old", "baseline", "Llama LoRA", "crashed", "no-status"]
    assert names(sort_experiments(rows, "status", True)) == [
        "crashed", "Llama LoRA", "baseline", "danube full", "queued-old", "no-status"]


def test_sort_does_not_change_its_input_and_rejects_unknown_keys():
    before = list(ROWS)
    sort_experiments(ROWS, "name", False)
    assert ROWS == before
    assert names(sort_experiments(ROWS, "name", False)) == ["baseline", "crashed", "danube full", "Llama LoRA"]
    with pytest.raises(ValueError, match="status"):
        sort_experiments(ROWS, "gpu", True)
