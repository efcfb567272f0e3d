"""Push a run's model to the Hugging Face Hub from a separate process (no model memory in the app)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

from studio import paths

from .access_policy import SINGLE_USER, AccessDenied, Actor, check_change, secret_key
from .limits import action_refusal
from .push_worker import PushError
from .serve_process import PROJECT_ROOT

HF_TOKEN_SECRET = "hf_token"
ProgressCallback = Callable[[float, str], None]


def push_experiment(store, experiment_id: str, repo_id: str, token: str | None = None, private: bool = True,
                    what: str = "merged", progress: ProgressCallback | None = None,
                    home: str | Path | None = None, timeout: float = 3600.0, actor: Actor = SINGLE_USER) -> str:
    """Upload the run's merged model (or adapter), tokenizer and a model card; returns the repo URL.

    The token comes from ``token``, else ``actor``'s own "hf_token" secret; in single-user mode
    also env HF_TOKEN (signed in, the app's own token is nobody's to push with). It reaches the
    worker through its environment only and is scrubbed from every message.
    """
    refusal = action_refusal(store, "push")
    if refusal:
        raise PushError(refusal)
    if what not in ("merged", "adapter"):
        raise PushError(f"what={what!r}: choose 'merged' or 'adapter'")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PushError(f"repository id {repo_id!r} must look like 'user-or-org/model-name'")
    experiment = store.experiments.get(experiment_id) if hasattr(store, "experiments") else None
    if experiment is not None:
        try:
            check_change(actor, experiment, "push", "experiment")
        except AccessDenied as exc:
            raise PushError(str(exc)) from None
    token = token or store.secrets.get(secret_key(actor, HF_TOKEN_SECRET)) or \
        (os.environ.get("HF_TOKEN") if actor.name is None else None)
    if not token:
        raise PushError("no Hugging Face token: set yours in Settings" +
                        (" or in the HF_TOKEN environment variable" if actor.name is None else ""))
    run_dir = paths.run_dir(experiment_id, Path(home) if home else getattr(store, "home", None))
    if not run_dir.is_dir():
        raise PushError(f"experiment {experiment_id} has no run folder at {run_dir}")
    command = [sys.executable, "-m", "studio.services.push_worker", "--run-dir", str(run_dir),
               "--repo-id", repo_id, "--what", what]
    if not private:
        command.append("--public")
    dataset_name = _dataset_name(store, experiment_id)
    if dataset_name:
        command += ["--dataset-name", dataset_name]
    env = dict(os.environ, HF_TOKEN=token, PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p))
    # stderr to a file, not a pipe: a chatty library must not block the worker while we read stdout.
    stderr_file = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr_file, text=True,
                               env=env, cwd=str(PROJECT_ROOT), start_new_session=True)
    result: dict = {}
    for line in process.stdout:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if "progress" in event and progress is not None:
            progress(float(event["progress"]), event.get("message", ""))
        if "done" in event or "error" in event:
            result = event
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise PushError(f"the push to {repo_id} did not finish within {timeout:.0f}s") from None
    stderr_file.seek(0)
    stderr = stderr_file.read()
    stderr_file.close()
    if result.get("done"):
        return result["url"]
    reason = result.get("error") or (stderr.strip().splitlines() or ["the push process ended without a result"])[-1]
    raise PushError(reason.replace(token, "***"))


def _dataset_name(store, experiment_id: str) -> str | None:
    experiment = store.experiments.get(experiment_id) if hasattr(store, "experiments") else None
    if not experiment:
        return None
    if experiment.get("dataset_name"):
        return experiment["dataset_name"]
    dataset = store.datasets.get(experiment["dataset_id"]) if experiment.get("dataset_id") else None
    return (dataset or {}).get("name")


__all__ = ["push_experiment", "PushError", "HF_TOKEN_SECRET"]
