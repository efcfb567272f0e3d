"""Time the Experiments list path on 5,000 rows: open, list (copies / shared read-only rows), update, search, sort.

    python bench/store_list_5000.py [--rows 5000]

Seeds a temporary STUDIO_HOME (never your real one) and prints milliseconds per step
(best of several repeats, since the machine may be shared).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.store import Store, search_experiments, sort_experiments  # noqa: E402
from studio.store.database import forget_database  # noqa: E402
from studio.store.records import new_id, utc_now  # noqa: E402

STATUSES = ["Queued", "Starting", "Training", "Validation", "Completed", "Failed", "Stopped"]


def experiment_row(i: int, project_id: str, rng: random.Random) -> dict:
    return {
        "id": new_id(), "project_id": project_id, "name": f"experiment-{i:05d}",
        "dataset_id": f"{rng.randrange(16**12):012x}", "dataset_name": rng.choice(["support", "sentiment", "coco-tiny"]),
        "problem_type": "text_causal_language_modeling", "llm_backbone": "h2oai/h2o-danube3-500m-base",
        "config_overrides": {"training": {"epochs": rng.randint(1, 3), "learning_rate": 1e-4}},
        "status": rng.choice(STATUSES), "stage": "epoch 1/1, step 40/40", "progress": 1.0,
        "created": utc_now(), "started": utc_now(), "finished": None, "pid": None, "error": None,
        "source_id": None, "connection": None, "metric_name": "Perplexity", "best_metric": rng.random() * 10,
        "gpus": 1, "runtime_s": rng.random() * 1000,
    }


def best_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def seed(home: Path, rows: int) -> str:
    """Write the rows in one go (adding 5,000 one by one would time the seeding, not the list)."""
    store = Store(home)
    project_id = store.projects.default_id()
    rng = random.Random(0)
    data = json.loads((home / "db.json").read_text())
    data["experiments"] = {}
    for i in range(rows):
        row = experiment_row(i, project_id, rng)
        data["experiments"][row["id"]] = row
    (home / "db.json").write_text(json.dumps(data))
    forget_database(home / "db.json")
    return project_id


def run(rows: int, repeats: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        project_id = seed(home, rows)
        results = {"db.json MB": (home / "db.json").stat().st_size / 1e6}

        def open_store():
            forget_database(home / "db.json")
            return Store(home)

        results["open ms"] = best_ms(open_store, repeats)
        store = open_store()
        listed = store.experiments.list(project_id)
        assert len(listed) == rows
        results["list ms"] = best_ms(lambda: store.experiments.list(project_id), repeats)
        store.experiments.list_read_only(project_id)  # the first read copies every row once
        results["list read-only ms"] = best_ms(lambda: store.experiments.list_read_only(project_id), repeats)
        target = listed[rows // 2]["id"]
        store.experiments.update(target, progress=0.1)  # the first write after open encodes everything
        results["update ms"] = best_ms(lambda: store.experiments.update(target, progress=random.random()), repeats)
        results["search ms"] = best_ms(lambda: search_experiments(listed, "experiment-0 support"), repeats)
        results["sort status ms"] = best_ms(lambda: sort_experiments(listed, "status", False), repeats)
        results["sort created ms"] = best_ms(lambda: sort_experiments(listed, "created", True), repeats)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for name, value in run(args.rows, args.repeats).items():
        print(f"{name:>16}: {value:8.2f}")


if __name__ == "__main__":
    main()
