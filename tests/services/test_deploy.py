"""Deployments as real serving processes: create → Ready → chat → stop, failures, restarts, chat servers."""
from __future__ import annotations

import json
import os
import shutil
import signal
import time

import psutil
import pytest
import yaml

from studio.services.deploy import FAILED, READY, STARTING, STOPPED, DeployError, DeploymentService, chat_stream
from studio.store import Store

API_KEY = "sk-deploy-secret-key-0123456789"


def completed_run(home, experiment_id, model_dir, problem_type="text_causal_language_modeling", status="Completed"):
    run = home / "runs" / experiment_id
    (run / "checkpoint").mkdir(parents=True)
    if model_dir is not None:
        shutil.copytree(model_dir, run / "checkpoint" / "model")
    (run / "status.json").write_text(json.dumps({"status": status}))
    (run / "config.yaml").write_text(yaml.safe_dump({"problem_type": problem_type, "experiment_name": "my-run"}))
    return run


@pytest.fixture()
def service(studio_home):
    deployments = DeploymentService(Store(studio_home), studio_home)
    yield deployments
    for row in deployments.list(include_ephemeral=True):
        deployments.stop(row["id"])


def gone(pid) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_deployment_serves_chat_with_its_key_and_stops_its_process(service, studio_home, tiny_llama_dir):
    completed_run(studio_home, "exp1", tiny_llama_dir)
    row = service.create("exp1", name="My Model", api_key=API_KEY)
    assert row["status"] == STARTING and row["served_name"] == "my-model"
    row = service.wait_ready(row["id"], timeout=180)
    assert row["status"] == READY
    assert service.health(row["id"])["status"] == "ok"

    reply = "".join(chat_stream(row["base_url"], [{"role": "user", "content": "hi"}], api_key=API_KEY,
                                max_tokens=4, temperature=0))
    assert isinstance(reply, str)
    with pytest.raises(Exception, match="401|API key"):
        list(chat_stream(row["base_url"], [{"role": "user", "content": "hi"}], api_key="wrong", max_tokens=2))

    # The key lives in the secrets file only: not in the DB, not in snippets, not on the command line.
    assert API_KEY not in (studio_home / "db.json").read_text()
    assert row["api_key_masked"] and API_KEY not in row["api_key_masked"]
    snippets = service.snippets(row["id"])
    assert row["base_url"] in snippets["curl"] and row["base_url"] in snippets["python"]
    assert "STUDIO_API_KEY" in snippets["python"] and API_KEY not in json.dumps(snippets)
    assert API_KEY not in " ".join(psutil.Process(row["pid"]).cmdline())
    assert (studio_home / "deployments" / row["id"] / "serve.log").exists()

    pid = row["pid"]
    stopped = service.stop(row["id"])
    assert stopped["status"] == STOPPED and gone(pid)
    service.delete(row["id"])
    assert service.list() == []


def test_dead_serving_process_turns_the_deployment_failed_with_its_log(service, studio_home, tiny_llama_dir):
    completed_run(studio_home, "exp2", tiny_llama_dir)
    row = service.create("exp2")
    os.killpg(row["pid"], signal.SIGKILL)
    deadline = time.time() + 10
    while service.get(row["id"])["status"] != FAILED and time.time() < deadline:
        time.sleep(0.1)
    failed = service.get(row["id"])
    assert failed["status"] == FAILED and "exited" in failed["error"]
    assert failed["pid"] is None


def test_object_detection_and_unfinished_runs_are_refused(service, studio_home, tiny_llama_dir):
    completed_run(studio_home, "det", tiny_llama_dir, problem_type="object_detection")
    with pytest.raises(DeployError, match="Object detection models cannot be deployed"):
        service.create("det")
    completed_run(studio_home, "busy", tiny_llama_dir, status="Training")
    with pytest.raises(DeployError, match="Training; only Completed"):
        service.create("busy")
    assert service.list() == []


def test_reattach_fails_deployments_whose_process_is_gone(service, studio_home):
    store = service.store
    live = store.deployments.add({"name": "x", "status": READY, "pid": os.getpid(), "port": 1,
                                  "experiment_id": "e", "ephemeral": False})
    stale_chat = store.deployments.add({"name": "c", "status": READY, "pid": None, "port": 2,
                                        "experiment_id": "e", "ephemeral": True})
    service.reattach()
    # Our own pid is alive but is not a studio.serve process: a reused pid must not count as ours.
    assert store.deployments.get(live["id"])["status"] == FAILED
    assert "not running" in store.deployments.get(live["id"])["error"]
    assert store.deployments.get(stale_chat["id"]) is None


def test_ephemeral_chat_server_is_reused_then_stopped(service, studio_home, tiny_llama_dir):
    completed_run(studio_home, "exp3", tiny_llama_dir)
    base_url = service.ensure_ephemeral_server("exp3")
    assert service.ensure_ephemeral_server("exp3") == base_url
    assert service.list() == [], "chat servers are not deployments"
    [row] = service.list(include_ephemeral=True)
    reply = "".join(chat_stream(base_url, [{"role": "user", "content": "hi"}], max_tokens=3, temperature=0))
    assert isinstance(reply, str)
    service.stop_ephemeral_servers("exp3")
    assert gone(row["pid"])
    assert service.list(include_ephemeral=True) == []
