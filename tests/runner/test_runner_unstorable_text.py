"""A run's own text that the store cannot hold (a lone surrogate in its error) never leaves it stuck.

The engine writes status.json with JSON escapes, so an error quoting bad data can carry
"\\ud800" back into the app; the row must still end Failed, with that character replaced.
"""
from __future__ import annotations

import subprocess
import sys

from studio.atomic_io import write_json_atomic
from studio.store.database import forget_database


def test_failed_run_with_an_unstorable_error_still_ends_failed(store, studio_home, add_experiment,
                                                               make_supervisor):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    experiment_id = add_experiment("wait", status="Training", pid=process.pid, started="2026-01-01T00:00:00+00:00")
    write_json_atomic(studio_home / "runs" / experiment_id / "status.json",
                      {"status": "Failed", "stage": "train", "progress": 0.5, "pid": process.pid,
                       "started": None, "updated": None, "error": "cannot parse row 3: 'bad \ud800 value'"})
    forget_database(studio_home / "db.json")
    make_supervisor()
    row = store.experiments.get(experiment_id)
    assert row["status"] == "Failed"
    assert "bad \ufffd value" in row["error"]
    store.settings.set("still_writable", True)
