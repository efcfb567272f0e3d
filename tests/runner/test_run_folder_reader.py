"""Readers of a run folder that another process is writing."""
from __future__ import annotations

import json

from studio.runner import MetricsTail, read_status, tail_log


def test_read_status_tolerates_missing_and_half_written_files(tmp_path):
    assert read_status(tmp_path) is None
    (tmp_path / "status.json").write_text('{"status": "Trai')
    assert read_status(tmp_path) is None
    (tmp_path / "status.json").write_text('{"status": "Training", "progress": 0.5}')
    assert read_status(tmp_path) == {"status": "Training", "progress": 0.5}


def test_metrics_tail_returns_only_new_complete_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    assert tail.read_new() == []
    first = {"step": 1, "epoch": 0.5, "time": 1.0, "split": "train", "name": "loss", "value": 2.0}
    second = {**first, "step": 2, "value": 1.5}
    line = json.dumps(second)
    with path.open("w") as handle:
        handle.write(json.dumps(first) + "\n" + line[:10])
    assert tail.read_new() == [first]
    assert tail.read_new() == []  # the half line waits
    with path.open("a") as handle:
        handle.write(line[10:] + "\n")
    assert tail.read_new() == [second]
    assert tail.offset == path.stat().st_size

    resumed = MetricsTail(path, offset=tail.offset)
    with path.open("a") as handle:
        handle.write("not json\n" + json.dumps({**first, "step": 3}) + "\n")
    assert [record["step"] for record in resumed.read_new()] == [3]


def test_metrics_tail_starts_over_when_the_file_is_replaced(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n')
    tail = MetricsTail(path)
    assert len(tail.read_new()) == 2
    path.write_text('{"step": 1}\n')
    assert tail.read_new() == [{"step": 1}]


def test_tail_log_returns_the_last_lines_of_a_big_file_reading_only_its_end(tmp_path):
    path = tmp_path / "train.log"
    path.write_text("".join(f"line {i}\n" for i in range(200_000)))  # ~2.3 MB
    assert tail_log(path, lines=3) == "line 199997\nline 199998\nline 199999"
    assert tail_log(path, lines=200).splitlines()[0] == "line 199800"
    # Bounded read: with a 64-byte budget only whole lines inside the last 64 bytes come back.
    assert tail_log(path, lines=1000, max_bytes=64).splitlines()[-1] == "line 199999"
    assert len(tail_log(path, lines=1000, max_bytes=64).splitlines()) < 7
    assert tail_log(tmp_path / "missing.log") == ""
    short = tmp_path / "short.log"
    short.write_text("only line")
    assert tail_log(short) == "only line"
