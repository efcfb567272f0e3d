"""Deployments: managed ``python -m studio.serve`` processes serving a completed run's model.

Each deployment is a row in ``store.deployments`` plus one serving process in its own process
group, logging to ``STUDIO_HOME/deployments/<id>/serve.log``. Status moves
Starting → Ready (when /health answers) and ends Stopped, or Failed with the last log lines
when the process dies. The API key lives in ``store.secrets``; the row keeps a masked form.

Chat never loads a model into the app process: ``ensure_ephemeral_server`` starts (or reuses)
a serving process for a run and the UI talks to it over HTTP with ``chat_stream``.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import yaml

from studio import paths
from studio.config.problem_types import CHAT_TYPES, DEPLOYABLE_TYPES, NOT_DEPLOYABLE_REASON
from studio.runner.run_folder_reader import read_status
from studio.serve.generation_defaults import from_run_folder
from studio.serve.model_loading import ModelLoadError, find_model_folder
from studio.store.names import character_problem, clean_name, derived_name, fold_name

from .access_policy import SINGLE_USER, Actor, check_change, owner_fields
from . import deploy_snippets, serve_process
from .limits import action_refusal
from .chat import chat_stream  # noqa: F401  (the UI imports the chat helper from here)

STARTING, READY, STOPPED, FAILED = "Starting", "Ready", "Stopped", "Failed"
LIVE_STATUSES = (STARTING, READY)
MAX_CHAT_SERVERS = 2  # side by side; one model at a time otherwise
GONE_AFTER_RESTART = "the serving process ended while Studio was not running"


class DeployError(RuntimeError):
    """A deployment cannot be created or started; the message says why and what to do."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _secret_key(deployment_id: str) -> str:
    return f"deployment/{deployment_id}/api_key"


class DeploymentService:
    def __init__(self, store, home: str | Path | None = None, host: str = "127.0.0.1"):
        self.store = store
        self.home = Path(home).resolve() if home is not None else paths.studio_home()
        self.host = host
        self._lock = threading.RLock()
        self._children: dict[str, subprocess.Popen] = {}  # reaped by poll(), so no zombies linger

    # ------------------------------------------------------------------ deployments
    def create(self, experiment_id: str, name: str | None = None, api_key: str | None = None,
               gpu: str | int | None = None, start: bool = True, actor: Actor = SINGLE_USER) -> dict:
        """Register a deployment of a Completed run (owned by ``actor``) and by default start serving it."""
        experiment = self.store.experiments.get(experiment_id)
        if experiment is not None:
            check_change(actor, experiment, "deploy", "experiment")
        self._refuse_when_turned_off()
        model_dir, config = self._deployable_model(experiment_id)
        if (name or "").strip():
            name = clean_name(name, "deployment", DeployError)
        else:  # an experiment named before names had a limit may be longer
            name = derived_name(fold_name(self._experiment_name(experiment_id, config)), "")
        problem = character_problem(api_key) if api_key else None
        if problem:  # checked before the row exists, so a refused key leaves nothing behind
            raise DeployError(f"API key: {problem}")
        row = self.store.deployments.add({
            "name": name, "experiment_id": experiment_id, "served_name": _served_name(name),
            "model_path": str(model_dir), "problem_type": config.get("problem_type"),
            "status": STOPPED, "pid": None, "port": None, "host": self.host, "base_url": None,
            "gpu": None, "gpu_requested": None if gpu is None else str(gpu),
            "auth": bool(api_key), "api_key_masked": None,
            "error": None, "ephemeral": False, "updated": _now(), **owner_fields(actor),
        })
        if api_key:
            self.store.secrets.set(_secret_key(row["id"]), api_key)
            row = self.store.deployments.update(row["id"], api_key_masked=self.store.secrets.masked(
                _secret_key(row["id"])))
        return self.start(row["id"], actor) if start else row

    def start(self, deployment_id: str, actor: Actor = SINGLE_USER) -> dict:
        with self._lock:
            row = self.store.deployments.require(deployment_id)
            check_change(actor, row, "start", "deployment")
            if not row.get("ephemeral"):  # the Chat page's own servers are not deployments
                self._refuse_when_turned_off()
            if row["status"] in LIVE_STATUSES and serve_process.is_our_server(row["pid"], row["port"]):
                return row
            model_dir = Path(row["model_path"])
            # A base model may be a Hub id, which studio.serve resolves (the cache, else a download).
            if not model_dir.exists() and not (row.get("base_model") and not model_dir.is_absolute()):
                raise DeployError(f"the model folder {model_dir} is gone (was the experiment deleted?); "
                                  "delete this deployment")
            port = serve_process.free_port(self.host)
            gpu = row.get("gpu_requested") if row.get("gpu_requested") is not None else self._pick_gpu()
            log_path = self._folder(deployment_id) / "serve.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "a") as log:
                log.write(f"\n--- {_now()} starting on port {port}, gpu {gpu if gpu is not None else 'none (CPU)'}\n")
            process = serve_process.launch(model_dir, port, row["served_name"], log_path, host=self.host,
                                           api_key=self.store.secrets.get(_secret_key(deployment_id)), gpu=gpu)
            self._children[deployment_id] = process
            return self.store.deployments.update(
                deployment_id, status=STARTING, pid=process.pid, port=port, gpu=gpu, error=None,
                base_url=f"http://{self._client_host()}:{port}/v1", started=_now(), updated=_now())

    def stop(self, deployment_id: str, actor: Actor = SINGLE_USER) -> dict:
        with self._lock:
            row = self.store.deployments.require(deployment_id)
            check_change(actor, row, "stop", "deployment")
            if serve_process.is_our_server(row["pid"], row["port"]):
                serve_process.stop_group(row["pid"])
            self._reap(deployment_id)
            return self.store.deployments.update(deployment_id, status=STOPPED, pid=None, updated=_now())

    def delete(self, deployment_id: str, actor: Actor = SINGLE_USER) -> None:
        with self._lock:
            check_change(actor, self.store.deployments.require(deployment_id), "delete", "deployment")
            self.stop(deployment_id, actor)
            self.store.deployments.delete(deployment_id)
            self.store.secrets.delete(_secret_key(deployment_id))
            shutil.rmtree(self._folder(deployment_id), ignore_errors=True)

    def get(self, deployment_id: str) -> dict:
        """The deployment row with its status brought up to date."""
        return self.refresh(deployment_id)

    def list(self, include_ephemeral: bool = False) -> list[dict]:
        rows = self.store.deployments.list()
        return [self.refresh(r["id"]) for r in rows if include_ephemeral or not r.get("ephemeral")]

    def refresh(self, deployment_id: str) -> dict:
        """The status poll: Starting → Ready once /health answers; Failed when the process died."""
        with self._lock:
            row = self.store.deployments.require(deployment_id)
            if row["status"] not in LIVE_STATUSES:
                return row
            child = self._children.get(deployment_id)
            exited = child is not None and child.poll() is not None
            if exited or not serve_process.is_our_server(row["pid"], row["port"]):
                self._reap(deployment_id)
                tail = serve_process.log_tail(self._folder(deployment_id) / "serve.log")
                return self.store.deployments.update(
                    deployment_id, status=FAILED, pid=None, updated=_now(),
                    error=f"the serving process exited (code {child.returncode if exited else 'unknown'})"
                          + (f"; last log lines:\n{tail}" if tail else ""))
            if row["status"] == STARTING and self._health(row, timeout=1.0).get("status") == "ok":
                return self.store.deployments.update(deployment_id, status=READY, updated=_now())
            return row

    def wait_ready(self, deployment_id: str, timeout: float = 180.0) -> dict:
        """Poll until Ready (or Failed); raises DeployError on failure or timeout."""
        deadline = time.time() + timeout
        while True:
            row = self.refresh(deployment_id)
            if row["status"] == READY:
                return row
            if row["status"] != STARTING:
                raise DeployError(f"deployment {row['name']} is {row['status']}: {row.get('error') or ''}".strip())
            if time.time() > deadline:
                raise DeployError(f"deployment {row['name']} did not answer /health within {timeout:.0f}s; "
                                  f"see {self._folder(deployment_id) / 'serve.log'}")
            time.sleep(0.3)

    def health(self, deployment_id: str) -> dict:
        """GET /health of the serving process: {"status": "ok", ...} or {"status": "unreachable", "error"}."""
        return self._health(self.store.deployments.require(deployment_id), timeout=3.0)

    def reattach(self) -> list[dict]:
        """After an app restart: keep live servers that are still ours, fail the rest.

        Ephemeral chat servers are stopped and forgotten: no chat session survives a restart,
        and a leftover one would only hold GPU memory.
        """
        with self._lock:
            for row in self.store.deployments.list():
                ours = serve_process.is_our_server(row.get("pid"), row.get("port"))
                if row.get("ephemeral"):
                    if ours:
                        serve_process.stop_group(row["pid"])
                    self.store.deployments.delete(row["id"])
                elif row["status"] in LIVE_STATUSES and not ours:
                    tail = serve_process.log_tail(self._folder(row["id"]) / "serve.log")
                    self.store.deployments.update(row["id"], status=FAILED, pid=None, updated=_now(),
                                                  error=GONE_AFTER_RESTART + (f"; last log lines:\n{tail}" if tail else ""))
            return self.list()

    def connection(self, deployment_id: str) -> dict:
        """What a client in the app needs to talk to a deployment: base_url, model and api_key.

        For the app's own Chat tab only; never render the key in the page.
        """
        row = self.store.deployments.require(deployment_id)
        return {"base_url": row["base_url"], "model": row["served_name"],
                "api_key": self.store.secrets.get(_secret_key(deployment_id))}

    def snippets(self, deployment_id: str) -> dict:
        """curl and Python (openai client) examples that fit the model's kind; the key is never inlined."""
        row = self.store.deployments.require(deployment_id)
        base_url = row["base_url"] or f"http://{self._client_host()}:<port>/v1"
        return deploy_snippets.snippets(row, base_url, self.generation_defaults(row["experiment_id"]))

    def generation_defaults(self, experiment_id: str) -> dict:
        """The run's prediction.* settings, which the serving process uses for what a request omits."""
        return from_run_folder(paths.run_dir(experiment_id, self.home)).as_dict()

    # ------------------------------------------------------------------ chat without a deployment
    def ensure_ephemeral_server(self, experiment_id: str, timeout: float = 180.0) -> str:
        """Start (or reuse) a private serving process for a run; returns its OpenAI base URL.

        Only one such chat server runs at a time: starting one for another run stops the
        previous one, so chatting with many runs never piles up models in GPU memory.
        """
        return self.ensure_ephemeral_servers([(experiment_id, False)], timeout)[0]

    def ensure_ephemeral_servers(self, targets: list[tuple[str, bool]], timeout: float = 180.0) -> list[str]:
        """Chat servers for (experiment_id, base_model) targets, started together; their base URLs in order.

        ``base_model`` serves the run's ``llm_backbone`` instead of its trained model (side by side
        with the run). Every chat server not asked for is stopped first, so at most
        MAX_CHAT_SERVERS models are held in memory for chat.
        """
        targets = list(dict.fromkeys((experiment_id, bool(base)) for experiment_id, base in targets))
        if not 1 <= len(targets) <= MAX_CHAT_SERVERS:
            raise DeployError(f"chat with 1 to {MAX_CHAT_SERVERS} models at a time")
        with self._lock:
            models = {target: self._chat_model(*target) for target in targets}  # refuse before stopping anything
            current: dict[tuple[str, bool], dict] = {}
            for row in self.store.deployments.find(ephemeral=True):
                target = (row["experiment_id"], bool(row.get("base_model")))
                if target in models and target not in current and \
                        self.refresh(row["id"])["status"] in LIVE_STATUSES:
                    current[target] = row
                else:
                    self._drop_ephemeral(row)
            for target in targets:
                if target not in current:
                    current[target] = self._start_chat_server(*target, *models[target])
        return [self.wait_ready(current[target]["id"], timeout)["base_url"] for target in targets]

    def _chat_model(self, experiment_id: str, base_model: bool) -> tuple[str, dict]:
        """What a chat server for the target serves: the run's model folder, or its base model."""
        model_dir, config = self._deployable_model(experiment_id)
        if not base_model:
            return str(model_dir), config
        if config.get("problem_type") not in CHAT_TYPES:
            raise DeployError(f"experiment {experiment_id}: only Causal LM and preference-tuned runs have a base "
                              "model to chat with")
        backbone = str(config.get("llm_backbone") or "").strip()
        if not backbone:
            raise DeployError(f"experiment {experiment_id}: its config names no llm_backbone")
        return backbone, config

    def _start_chat_server(self, experiment_id: str, base_model: bool, model_path: str, config: dict) -> dict:
        name = f"chat-{'base-' if base_model else ''}{experiment_id}"
        row = self.store.deployments.add({
            "name": name, "experiment_id": experiment_id, "served_name": _served_name(name),
            "model_path": model_path, "problem_type": config.get("problem_type"), "base_model": base_model,
            "status": STOPPED, "pid": None, "port": None, "host": self.host, "base_url": None,
            "gpu": None, "gpu_requested": None, "auth": False, "api_key_masked": None, "error": None,
            "ephemeral": True, "updated": _now()})
        return self.start(row["id"])

    def stop_ephemeral_servers(self, experiment_id: str | None = None) -> None:
        """Stop the chat server of one run (or all of them) and free its memory."""
        with self._lock:
            for row in self.store.deployments.find(ephemeral=True):
                if experiment_id is None or row["experiment_id"] == experiment_id:
                    self._drop_ephemeral(row)

    def _drop_ephemeral(self, row: dict) -> None:
        self.stop(row["id"])
        self.store.deployments.delete(row["id"])
        shutil.rmtree(self._folder(row["id"]), ignore_errors=True)

    # ------------------------------------------------------------------ internals
    def _refuse_when_turned_off(self) -> None:
        refusal = action_refusal(self.store, "deploy")
        if refusal:
            raise DeployError(refusal)

    def _deployable_model(self, experiment_id: str) -> tuple[Path, dict]:
        run = paths.run_dir(experiment_id, self.home)
        status = (read_status(run) or {}).get("status")
        if status != "Completed":
            raise DeployError(f"experiment {experiment_id} is {status or 'not started'}; "
                              "only Completed experiments can be deployed")
        try:
            config = yaml.safe_load((run / "config.yaml").read_text()) or {}
        except FileNotFoundError:
            raise DeployError(f"experiment {experiment_id} has no config.yaml in {run}") from None
        problem_type = config.get("problem_type")
        if problem_type in NOT_DEPLOYABLE_REASON:
            raise DeployError(NOT_DEPLOYABLE_REASON[problem_type])
        if problem_type not in DEPLOYABLE_TYPES:
            raise DeployError(f"experiment {experiment_id}: problem type {problem_type!r} cannot be deployed")
        try:
            return find_model_folder(run), config
        except ModelLoadError:
            raise DeployError(f"experiment {experiment_id} has no saved model in {run / 'checkpoint'}") from None

    def _experiment_name(self, experiment_id: str, config: dict) -> str:
        experiments = getattr(self.store, "experiments", None)
        row = experiments.get(experiment_id) if experiments is not None else None
        return (row or {}).get("name") or config.get("experiment_name") or experiment_id

    def _pick_gpu(self) -> str | None:
        """The GPU with the most free memory, so deployments spread out instead of piling onto GPU 0."""
        free = _gpu_free_memory()
        if not free:
            return None
        busy = {r.get("gpu") for r in self.store.deployments.list() if r["status"] in LIVE_STATUSES}
        return max(free, key=lambda gpu: (free[gpu], gpu not in busy))

    def _health(self, row: dict, timeout: float) -> dict:
        if not row.get("base_url"):
            return {"status": "unreachable", "error": "not started"}
        url = row["base_url"].removesuffix("/v1") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return {"status": "unreachable", "error": str(getattr(exc, "reason", exc))}

    def _client_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host

    def _folder(self, deployment_id: str) -> Path:
        return paths.inside_home(Path("deployments") / deployment_id, self.home)

    def _reap(self, deployment_id: str) -> None:
        child = self._children.pop(deployment_id, None)
        if child is not None:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def _served_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.")
    return slug or "model"


def _gpu_free_memory() -> dict[str, int]:
    """{gpu index: free MiB} from nvidia-smi; empty when there is no usable GPU."""
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi is None:
        return {}
    try:
        result = subprocess.run([nvidia_smi, "--query-gpu=index,memory.free", "--format=csv,noheader,nounits"],
                                capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return {}
    free = {}
    for line in result.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            free[parts[0]] = int(parts[1])
    return free


__all__ = ["DeploymentService", "DeployError", "chat_stream", "STARTING", "READY", "STOPPED", "FAILED"]
