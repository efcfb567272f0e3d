"""The ray executor against a real local Ray head: a tiny experiment created through the app's
services runs as a Ray job to Completed, another is stopped after a restart reattached it, and
the statuses, metrics and logs the UI reads are all there."""
from __future__ import annotations

import random

import pandas as pd
import pytest
from ray.job_submission import JobStatus, JobSubmissionClient

from ray_head import local_ray_head
from run_watch import pid_alive, status_of, wait_for
from studio.config.runner_settings import MAX_CONCURRENT_RUNS
from studio.runner import MetricsTail, Supervisor, read_status, tail_log
from studio.runner.executors import RayExecutor
from studio.runner.executors.ray_jobs import JOB_LOG
from studio.services.experiments import ExperimentService
from studio.store import Store
from studio.store.database import forget_database

WORDS = ["cat", "dog", "sun", "red", "blue", "tree", "fish", "moon"]
ENDED = ("Completed", "Failed", "Stopped")


@pytest.fixture(scope="module")
def ray_address():
    with local_ray_head(num_cpus=2) as address:
        yield address


def _dataset(store, studio_home) -> str:
    rng = random.Random(0)
    rows = [{"input": f"repeat: {w}", "output": w}
            for w in (" ".join(rng.choice(WORDS) for _ in range(2)) for _ in range(48))]
    dataset = store.datasets.add({"name": "toy repeat", "rows": len(rows)})
    folder = studio_home / "datasets" / dataset["id"]
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(folder / "data.parquet")
    return dataset["id"]


def _config(tiny_llama_dir, dataset_id: str, epochs: int) -> dict:
    return {"llm_backbone": str(tiny_llama_dir), "dataset": {"train_dataset_id": dataset_id},
            "tokenizer": {"max_length": 32},
            "training": {"batch_size": 8, "epochs": epochs, "evaluation_epochs": 1},
            "prediction": {"metrics": ["Perplexity"], "max_length_inference": 4},
            "environment": {"seed": 1}}


@pytest.mark.slow
def test_ray_jobs_complete_stop_and_reattach_through_the_services(ray_address, studio_home, tiny_llama_dir,
                                                                   monkeypatch):
    monkeypatch.setenv("STUDIO_EXECUTOR", "ray")
    monkeypatch.setenv("STUDIO_RAY_ADDRESS", ray_address)
    store = Store(studio_home)
    store.settings.set(MAX_CONCURRENT_RUNS.key, 2)
    supervisor = Supervisor(store, studio_home, poll_interval=0.5, gpus=[]).start()
    assert isinstance(supervisor.executor(), RayExecutor)
    service = ExperimentService(store, supervisor, studio_home)
    dataset_id = _dataset(store, studio_home)
    client = JobSubmissionClient(ray_address)
    try:
        long_run = service.create(_config(tiny_llama_dir, dataset_id, epochs=200))
        short_run = service.create(_config(tiny_llama_dir, dataset_id, epochs=1))
        wait_for(lambda: status_of(store, long_run["id"]) == "Training", timeout=300, message="long run training")

        # The app restarts while the long run trains: the job is found again by its id.
        supervisor.shutdown()
        forget_database(studio_home / "db.json")
        store = Store(studio_home)
        supervisor = Supervisor(store, studio_home, poll_interval=0.5, gpus=[]).start()
        service = ExperimentService(store, supervisor, studio_home)
        assert long_run["id"] in supervisor.running_ids()

        wait_for(lambda: status_of(store, short_run["id"]) in ENDED, timeout=400, message="short run ended")
        row = store.experiments.get(short_run["id"])
        run_dir = service.run_dir(short_run["id"])
        assert row["status"] == "Completed", f"{row.get('error')}\n{tail_log(run_dir / 'system.log', 40)}"
        assert row["executor"] == "ray" and row["job_id"].startswith("studio-")
        assert client.get_job_status(row["job_id"]) == JobStatus.SUCCEEDED
        assert row["metric_name"] == "Perplexity" and row["best_metric"] > 1.0
        records = MetricsTail(run_dir / "metrics.jsonl").read_new()
        assert any(r["split"] == "train" and r["name"] == "loss" for r in records)
        assert any(r["split"] == "validation" and r["name"] == "Perplexity" for r in records)
        assert tail_log(run_dir / "train.log", 5) and (run_dir / JOB_LOG).is_file()
        assert service.live_status(row)["status"] == "Completed"

        long_id = long_run["id"]
        engine_pid = read_status(service.run_dir(long_id))["pid"]
        assert status_of(store, long_id) == "Training" and pid_alive(engine_pid)
        service.stop(long_id)
        wait_for(lambda: status_of(store, long_id) in ENDED, timeout=60, message="long run stopped")
        row = store.experiments.get(long_id)
        assert row["status"] == "Stopped"
        assert client.get_job_status(row["job_id"]) == JobStatus.STOPPED
        wait_for(lambda: not pid_alive(engine_pid), timeout=20, message="the engine process gone")
    finally:
        for experiment in store.experiments.list():
            if experiment.get("job_id") and experiment.get("status") not in ENDED:
                client.stop_job(experiment["job_id"])
        supervisor.shutdown()
        forget_database(studio_home / "db.json")


@pytest.mark.slow
def test_a_job_the_head_does_not_know_is_gone_and_an_unreachable_head_is_waited_for(ray_address, tmp_path):
    from studio.runner.executors import Job
    unknown = {"id": "x", "job_id": "studio-x-never-submitted"}
    executor = RayExecutor(ray_address)
    assert executor.reattach(unknown, tmp_path) is None
    assert not executor.poll(Job("ray", "x", tmp_path, job_id=unknown["job_id"])).alive
    down = RayExecutor("http://127.0.0.1:9")
    assert down.reattach(unknown, tmp_path) is not None  # kept: the head may come back
    assert down.poll(Job("ray", "x", tmp_path, job_id=unknown["job_id"])).alive
