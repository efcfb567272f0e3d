"""An AutoML study through the real supervisor and engine: 6 tiny Llama trials on CPU, 2 at a time,
pruned by successive halving, with the app restarted in the middle (a new AppContext on the same home)."""
from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from run_watch import wait_for
from studio.runner import Supervisor
from studio.runner.run_folder_reader import TERMINAL_STATUSES, has_resume_checkpoint
from studio.services.context import AppContext
from studio.store import Store
from studio.store.database import forget_database

WORDS = ["cat", "dog", "sun", "red", "blue", "tree", "fish", "moon"]


def _toy_dataset(home: Path) -> str:
    rng = random.Random(0)
    rows = [{"input": f"repeat: {w}", "output": w}
            for w in (" ".join(rng.choice(WORDS) for _ in range(2)) for _ in range(40))]
    Store(home).datasets.add({"id": "toyrepeat", "name": "toy repeat", "rows": len(rows)})
    folder = home / "datasets" / "toyrepeat"
    folder.mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(folder / "data.parquet")
    return "toyrepeat"


def _open_app(home: Path) -> AppContext:
    store = Store(home)
    supervisor = Supervisor(store, home, max_concurrent=2, poll_interval=0.2, gpus=[],
                            progress_write_interval_s=0.5)
    return AppContext.open(home, supervisor=supervisor)


@pytest.mark.slow
def test_a_study_prunes_survives_a_restart_and_its_best_trial_beats_the_worst(studio_home, tiny_llama_dir):
    dataset = _toy_dataset(studio_home)
    base = {"experiment_name": "toy study", "llm_backbone": str(tiny_llama_dir),
            "dataset": {"train_dataset_id": dataset}, "tokenizer": {"max_length": 32},
            "training": {"batch_size": 4, "epochs": 1, "evaluation_epochs": 0.25},
            "prediction": {"metrics": ["Perplexity"], "max_length_inference": 4},
            "environment": {"seed": 1}}
    settings = {"max_trials": 6, "concurrent_trials": 2, "pruner": "successive_halving", "seed": 3,
                "search": {"learning_rate": [1e-6, 3e-2], "epochs": [], "lora_rank": [], "lora_dropout": [],
                           "warmup_epochs": []}}
    ctx = _open_app(studio_home)
    try:
        study = ctx.studies.create(base, settings)
        assert study["objective"] == "Perplexity" and study["direction"] == "minimize"
        wait_for(lambda: (ctx.studies.get(study["id"]) or {}).get("trials_done", 0) >= 2, timeout=300,
                 message="two trials to finish before the restart")
        before = {t.experiment_id for t in ctx.studies.trials(study["id"])}
    finally:
        ctx.close()  # the runs keep training; the next app reattaches to them
    forget_database(studio_home / "db.json")

    ctx = _open_app(studio_home)
    try:
        wait_for(lambda: ctx.studies.get(study["id"])["status"] == "Completed", timeout=600,
                 message="the study to spend its budget")
        trials = ctx.studies.trials(study["id"])
        rows = {t.experiment_id: ctx.store.experiments.get(t.experiment_id) for t in trials}
    finally:
        ctx.close()

    assert len(trials) == 6 and len(before) >= 2
    assert all(row["status"] in TERMINAL_STATUSES for row in rows.values())
    assert all(row["connection"] is None and row["study_id"] == study["id"] for row in rows.values())
    # No trial was lost to the restart: those running across it finished normally.
    assert not [row for row in rows.values() if row["status"] == "Failed"], \
        [(row["name"], row.get("error")) for row in rows.values()]
    pruned = [row for row in rows.values() if row["status"] == "Pruned"]
    assert pruned, [(t.number, t.status, t.value) for t in trials]
    assert all(has_resume_checkpoint(ctx.experiments.run_dir(row["id"])) for row in pruned)  # checkpoint kept
    completed = [t for t in trials if t.status == "Completed"]
    best, worst = ctx.studies.best(study["id"]), max(t.value for t in trials if t.value is not None)
    assert best is not None and best in completed and best.value < worst
    summary = ctx.studies.get(study["id"])
    assert summary["trials_done"] == 6 and summary["trials_pruned"] == len(pruned)
    assert summary["best_experiment_id"] == best.experiment_id
