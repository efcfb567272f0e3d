"""The Experiments list stays fast with 5,000 rows (timings printed; only loose bounds asserted)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "store_list_5000.py"


def test_5000_experiments_list_update_search_and_sort_quickly(capsys):
    spec = importlib.util.spec_from_file_location("store_list_5000", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.run(rows=5000, repeats=3)
    with capsys.disabled():
        print("\n5,000 experiments: " + ", ".join(f"{k} {v:.1f}" for k, v in results.items()))
    for step in ("open ms", "list ms", "update ms", "search ms", "sort status ms", "sort created ms"):
        assert results[step] < 2000, (step, results[step])
