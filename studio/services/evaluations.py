"""Evaluate against…: the judged win rate of a completed text experiment over a baseline.

The baseline is the experiment's base model (its ``llm_backbone``) or another completed text
experiment. Each evaluation is a store record (table ``evaluations``) linked to its experiment;
its files live in ``runs/<experiment>/evaluations/<id>/`` and the work runs in
``studio.services.pairwise_worker`` (its own process; models in their own serving processes),
so the record's live status is read back from that folder and survives an app restart.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from studio import paths
from studio.config import ConfigError, from_dict, parse_overrides
from studio.config.problem_types import CAUSAL_LM, DPO
from studio.runner.run_folder_reader import read_status

from .access_policy import SINGLE_USER, Actor, owner_fields
from .judge_endpoint import judge_environment
from .serve_process import PROJECT_ROOT, process_alive

BASE_MODEL = "base"
EVALUABLE_TYPES = (CAUSAL_LM, DPO)
DEFAULT_MAX_PROMPTS = 50
MAX_PROMPTS_LIMIT = 1000
TERMINAL = ("Completed", "Failed")


class EvaluationError(ValueError):
    """Why an evaluation cannot start; shown to the user as it is."""


class EvaluationService:
    def __init__(self, store, home: Path):
        self.store, self.home = store, Path(home)

    # ---- what the page offers ------------------------------------------------------------
    def baselines(self, experiment_id: str) -> list[tuple[str, str]]:
        """(label, value) pairs: the base model first, then the project's other completed text experiments."""
        row = self.store.experiments.get(experiment_id)
        if row is None:
            return []
        choices = [(f"Base model ({self._config(experiment_id).get('llm_backbone', '?')})", BASE_MODEL)]
        for other in self.store.experiments.list(row.get("project_id")):
            if other["id"] != experiment_id and self._evaluable(other) is None:
                choices.append((f"Experiment {other.get('name') or other['id']}", other["id"]))
        return choices

    def default_judge_model(self, experiment_id: str) -> str:
        """The run's LLM-as-a-Judge model (the schema's default when its config does not say)."""
        from studio.config.sections import TrainingSettings

        chosen = (self._config(experiment_id).get("training") or {}).get("llm_judge_model")
        return str(chosen or TrainingSettings().llm_judge_model)

    # ---- start ---------------------------------------------------------------------------
    def start(self, experiment_id: str, baseline: str, judge_model: str,
              max_prompts: int = DEFAULT_MAX_PROMPTS, actor: Actor = SINGLE_USER) -> dict:
        """Start a pairwise evaluation owned by ``actor``, judged with ``actor``'s own judge key."""
        row = self.store.experiments.get(experiment_id)
        if row is None:
            raise EvaluationError(f"there is no experiment with id {experiment_id!r}")
        reason = self._evaluable(row)
        if reason:
            raise EvaluationError(reason)
        if not (judge_model or "").strip():
            raise EvaluationError("judge model: name the judge model (e.g. the served name of a deployment)")
        if not 1 <= int(max_prompts) <= MAX_PROMPTS_LIMIT:
            raise EvaluationError(f"prompts: between 1 and {MAX_PROMPTS_LIMIT}")
        judge_env = judge_environment(self.store, actor.name)
        if not (judge_env.get("OPENAI_BASE_URL") or judge_env.get("OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY")):
            raise EvaluationError("no judge endpoint: set the OpenAI-compatible judge URL (and key) in Settings, "
                                  "e.g. a Studio deployment's /v1 address")
        baseline_model = self._baseline_model(experiment_id, baseline)
        prompts = self._prompts(experiment_id, int(max_prompts))
        record = self.store.evaluations.add({
            "experiment_id": experiment_id, "project_id": row.get("project_id"), "baseline": baseline,
            "baseline_name": baseline_model["name"], "judge_model": judge_model.strip(), "prompts": len(prompts),
            **owner_fields(actor)})
        eval_dir = self.folder(record)
        eval_dir.mkdir(parents=True, exist_ok=True)
        request = {"prompts": prompts, "judge_model": judge_model.strip(),
                   "candidate": {"name": row.get("name") or experiment_id,
                                 "model_dir": str(self._model_dir(experiment_id))},
                   "baseline": baseline_model, "generation": self._generation(experiment_id)}
        (eval_dir / "request.json").write_text(json.dumps(request), encoding="utf-8")
        env = dict(os.environ, **judge_env, PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p))
        with open(eval_dir / "worker.log", "ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "studio.services.pairwise_worker", str(eval_dir)],
                                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                       cwd=str(PROJECT_ROOT), start_new_session=True)
        return self.store.evaluations.update(record["id"], pid=process.pid)

    # ---- read back -----------------------------------------------------------------------
    def folder(self, record: dict) -> Path:
        return paths.run_dir(record["experiment_id"], self.home) / "evaluations" / record["id"]

    def for_experiment(self, experiment_id: str) -> list[dict]:
        """The experiment's evaluations, newest first, each with its live ``state`` and ``result``."""
        rows = [r for r in self.store.evaluations.list() if r.get("experiment_id") == experiment_id]
        return [self.describe(r) for r in sorted(rows, key=lambda r: r.get("created", ""), reverse=True)]

    def describe(self, record: dict) -> dict:
        folder = self.folder(record)
        state = read_status(folder) or {"status": "Starting", "progress": 0.0, "stage": "starting", "error": None}
        if state["status"] not in TERMINAL and not process_alive(record.get("pid")):
            state = {**state, "status": "Failed",
                     "error": state.get("error") or "the evaluation process ended without a result"}
        result_path = folder / "result.json"
        result = json.loads(result_path.read_text(encoding="utf-8")) if result_path.is_file() else None
        return {**record, "state": state, "result": result}

    def verdicts(self, record: dict) -> pd.DataFrame | None:
        path = self.folder(record) / "verdicts.parquet"
        return pd.read_parquet(path) if path.is_file() else None

    # ---- rules ---------------------------------------------------------------------------
    def _evaluable(self, row: dict) -> str | None:
        """Why ``row`` cannot be evaluated (or serve as a baseline); None when it can."""
        if row.get("problem_type") not in EVALUABLE_TYPES:
            return f"only Causal LM and preference-tuned experiments can be judged, not {row.get('problem_type')}"
        if row.get("status") != "Completed":
            return f"experiment {row.get('name') or row['id']} is {row.get('status')}, not Completed"
        if not (self._model_dir(row["id"]) / "config.json").is_file():
            return f"experiment {row.get('name') or row['id']} has no merged model in checkpoint/model"
        return None

    def _baseline_model(self, experiment_id: str, baseline: str) -> dict:
        if baseline == BASE_MODEL:
            backbone = self._config(experiment_id).get("llm_backbone")
            if not backbone:
                raise EvaluationError("the experiment's config names no llm_backbone to compare with")
            return {"name": f"base model {backbone}", "model_dir": str(backbone)}
        other = self.store.experiments.get(baseline)
        if other is None or baseline == experiment_id:
            raise EvaluationError(f"baseline: there is no other experiment with id {baseline!r}")
        reason = self._evaluable(other)
        if reason:
            raise EvaluationError(f"baseline: {reason}")
        return {"name": other.get("name") or baseline, "model_dir": str(self._model_dir(baseline))}

    def _prompts(self, experiment_id: str, limit: int) -> list[str]:
        path = paths.run_dir(experiment_id, self.home) / "predictions.parquet"
        try:
            frame = pd.read_parquet(path, columns=["prompt"])
        except (OSError, ValueError, KeyError):
            raise EvaluationError("the experiment has no validation prompts (predictions.parquet)") from None
        prompts = [str(p) for p in frame["prompt"].tolist() if str(p).strip()][:limit]
        if not prompts:
            raise EvaluationError("the experiment's validation predictions hold no prompts")
        return prompts

    def _generation(self, experiment_id: str) -> dict:
        """The run's prediction.* settings, so both models answer the way the run was validated."""
        pr = self._config(experiment_id).get("prediction") or {}
        generation = {"max_tokens": int(pr.get("max_length_inference") or 128),
                      "temperature": float(pr.get("temperature") or 0.0)}
        if generation["temperature"] > 0 and pr.get("top_p") is not None:
            generation["top_p"] = float(pr["top_p"])
        return generation

    def _model_dir(self, experiment_id: str) -> Path:
        return paths.run_dir(experiment_id, self.home) / "checkpoint" / "model"

    def _config(self, experiment_id: str) -> dict:
        import yaml

        path = paths.run_dir(experiment_id, self.home) / "config.yaml"
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            loaded = None
        if isinstance(loaded, dict):
            return loaded
        # Not written yet, unreadable, or not a mapping: the config the experiment was created with.
        row = self.store.experiments.get(experiment_id) or {}
        try:
            return from_dict(parse_overrides(row.get("config") or ""), check_rules=False).model_dump()
        except ConfigError:
            return {}

