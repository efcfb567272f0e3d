"""The supervisor runs the real engine (``python -m training RUN_DIR``) on the tiny local Llama, in one
process and as two CPU processes under torchrun (gloo), to Completed."""
from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest
import yaml

from run_watch import status_of, wait_for
from studio.runner import MetricsTail, Supervisor, tail_log
from studio.store import Store
from studio.store.database import forget_database

ENGINE_ENTRY = Path(__file__).resolve().parents[2] / "training" / "__main__.py"
WORDS = ["cat", "dog", "sun", "red", "blue", "tree", "fish", "moon"]


def _toy_repeat_run(studio_home: Path, model_dir: Path, name: str, batch_size: int, **environment):
    """A stored experiment whose run folder holds a config for the toy repeat task: (store, id, run_dir)."""
    rng = random.Random(0)
    rows = [{"input": f"repeat: {w}", "output": w}
            for w in (" ".join(rng.choice(WORDS) for _ in range(2)) for _ in range(48))]
    dataset = studio_home / "datasets" / "toyrepeat"
    dataset.mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(dataset / "data.parquet")

    store = Store(studio_home)
    experiment_id = store.experiments.add({"name": name})["id"]
    run_dir = studio_home / "runs" / experiment_id
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump({
        "llm_backbone": str(model_dir),
        "dataset": {"train_dataset_id": "toyrepeat"},
        "tokenizer": {"max_length": 32},
        "training": {"batch_size": batch_size, "epochs": 1, "evaluation_epochs": 1},
        "prediction": {"metrics": ["Perplexity"], "max_length_inference": 4},
        "environment": {"seed": 1, **environment},
    }))
    return store, experiment_id, run_dir


@pytest.mark.slow
@pytest.mark.skipif(not ENGINE_ENTRY.exists(), reason="the engine (training/__main__.py) is not in this checkout yet")
def test_supervisor_runs_the_real_engine_to_completion(studio_home, tiny_llama_dir):
    store, experiment_id, run_dir = _toy_repeat_run(studio_home, tiny_llama_dir, "tiny llama via the runner", 8)
    supervisor = Supervisor(store, studio_home, poll_interval=0.2, gpus=[]).start()
    try:
        supervisor.submit(experiment_id)
        wait_for(lambda: status_of(store, experiment_id) in ("Completed", "Failed", "Stopped"),
                 timeout=300, message="the engine run to end")
        row = store.experiments.get(experiment_id)
        assert row["status"] == "Completed", f"{row.get('error')}\n{tail_log(run_dir / 'system.log', 40)}"
        assert row["metric_name"] == "Perplexity" and row["best_metric"] > 1.0
        assert row["runtime_s"] > 0 and row["pid"] is None
        records = MetricsTail(run_dir / "metrics.jsonl").read_new()
        assert any(r["split"] == "train" and r["name"] == "loss" for r in records)
        assert any(r["split"] == "validation" and r["name"] == "Perplexity" for r in records)
        assert (run_dir / "checkpoint" / "model").is_dir()
    finally:
        supervisor.shutdown()
        forget_database(studio_home / "db.json")


@pytest.mark.slow
def test_a_two_process_run_goes_through_the_supervisor_under_torchrun(studio_home, tiny_llama_dir):
    store, experiment_id, run_dir = _toy_repeat_run(studio_home, tiny_llama_dir, "tiny llama on two ranks", 4,
                                                    number_of_gpus=2)
    supervisor = Supervisor(store, studio_home, poll_interval=0.2, gpus=[]).start()
    try:
        supervisor.submit(experiment_id)
        wait_for(lambda: status_of(store, experiment_id) in ("Completed", "Failed", "Stopped"),
                 timeout=600, message="the two-rank run to end")
        row = store.experiments.get(experiment_id)
        assert row["status"] == "Completed", f"{row.get('error')}\n{tail_log(run_dir / 'system.log', 60)}"
        assert row["num_processes"] == 2 and row["num_gpus"] == 0 and row["gpus"] == []
        assert "-m torch.distributed.run --standalone --nproc_per_node=2 -m training" in \
            (run_dir / "system.log").read_text()
        records = MetricsTail(run_dir / "metrics.jsonl").read_new()
        assert any(r["split"] == "train" and r["name"] == "loss" for r in records)
        assert any(r["split"] == "validation" and r["name"] == "Perplexity" for r in records)
        assert row["metric_name"] == "Perplexity" and (run_dir / "checkpoint" / "model").is_dir()
    finally:
        supervisor.shutdown()
        forget_database(studio_home / "db.json")
