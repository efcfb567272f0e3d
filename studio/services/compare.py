"""Compare 2–8 experiments: their curves, the settings that differ, their metrics, their answers.

Everything comes from the run-folder contract (config.yaml, metrics.jsonl, final_metrics.json,
predictions.parquet) and the store rows, so a comparison is as fresh as the runs themselves.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from studio import paths
from studio.config.problem_types import HIGHER_IS_BETTER, IMAGE_TYPES
from studio.runner.run_folder_reader import MetricsTail, read_final_metrics

from .evaluations import EvaluationService
from .prediction_images import run_validation_images

MIN_RUNS, MAX_RUNS = 2, 8
PREDICTION_ROWS = 50
# Hyperparameters the project-wide parallel-coordinates chart plots, when numeric.
PARALLEL_KEYS = ("training.learning_rate", "training.epochs", "training.batch_size", "training.lora_rank",
                 "training.lora_alpha", "training.lora_dropout", "training.warmup_epochs", "training.weight_decay",
                 "tokenizer.max_length")
WIN_RATE_COLUMNS = ["experiment", "against", "win rate", "95% CI", "wins", "ties", "losses", "prompts", "judge",
                    "status"]


class CompareError(ValueError):
    """Why these experiments cannot be compared; shown as it is."""


@dataclass
class RunView:
    id: str
    name: str
    status: str
    problem_type: str
    config: dict
    records: list[dict]
    final: dict
    runtime_s: float
    gpus: int
    cost: float


@dataclass
class Comparison:
    runs: list[RunView]
    shared_metrics: list[str] = field(default_factory=list)


def parse_ids(text: str | None) -> list[str]:
    """Experiment ids from a URL's ``ids=a,b,c`` (order kept, duplicates dropped)."""
    ids: list[str] = []
    for part in (text or "").split(","):
        part = part.strip()
        if part and part not in ids:
            ids.append(part)
    return ids


def flatten(config: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in (config or {}).items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


class CompareService:
    def __init__(self, store, experiments, home: Path, evaluations: EvaluationService | None = None):
        self.store, self.experiments, self.home = store, experiments, Path(home)
        self.evaluations = evaluations or EvaluationService(store, self.home)

    def load(self, ids: list[str]) -> Comparison:
        if not MIN_RUNS <= len(ids) <= MAX_RUNS:
            raise CompareError(f"choose {MIN_RUNS} to {MAX_RUNS} experiments to compare (got {len(ids)})")
        runs = []
        for experiment_id in ids:
            row = self.store.experiments.get(experiment_id)
            if row is None:
                raise CompareError(f"there is no experiment with id {experiment_id!r}")
            runs.append(self._view(row))
        names = [_validation_metrics(r.records) for r in runs]
        shared = [m for m in names[0] if all(m in other for other in names[1:])]
        return Comparison(runs, shared)

    def _view(self, row: dict) -> RunView:
        run_dir = paths.run_dir(row["id"], self.home)
        resources = self.experiments.resources(row)
        return RunView(id=row["id"], name=row.get("name") or row["id"], status=row.get("status") or "",
                       problem_type=row.get("problem_type") or "", config=_config(run_dir, row),
                       records=MetricsTail(run_dir / "metrics.jsonl").read_new(),
                       final=read_final_metrics(run_dir) or {}, runtime_s=resources.runtime_s,
                       gpus=resources.gpus, cost=resources.total_cost)

    def candidates(self, experiment_id: str) -> list[tuple[str, str]]:
        """(label, id) of the project's other experiments of the same problem type, newest first."""
        row = self.store.experiments.get(experiment_id)
        if row is None:
            return []
        others = [r for r in self.store.experiments.list(row.get("project_id"))
                  if r["id"] != experiment_id and r.get("problem_type") == row.get("problem_type")]
        others.sort(key=lambda r: r.get("created", ""), reverse=True)
        return [(f"{r.get('name') or r['id']} ({r.get('status')})", r["id"]) for r in others]

    # ---- tables --------------------------------------------------------------------------
    @staticmethod
    def config_diff(comparison: Comparison, all_keys: bool = False) -> pd.DataFrame:
        """One row per config key (only those that differ unless ``all_keys``), one column per run."""
        flat = [flatten(r.config) for r in comparison.runs]
        keys = sorted(set().union(*flat))
        rows = []
        for key in keys:
            values = [f.get(key) for f in flat]
            if all_keys or any(_text(v) != _text(values[0]) for v in values[1:]):
                rows.append({"key": key, **{r.name: _text(v) for r, v in zip(comparison.runs, values)}})
        return pd.DataFrame(rows, columns=["key"] + [r.name for r in comparison.runs])

    @staticmethod
    def metrics_table(comparison: Comparison) -> tuple[pd.DataFrame, dict[str, str]]:
        """Final and best validation metrics per run (rows) plus runtime/GPUs/cost, and the best run per metric."""
        names = []
        for run in comparison.runs:
            names += [k for k, v in run.final.items() if isinstance(v, (int, float)) and k not in names]
        rows, best = [], {}
        for run in comparison.runs:
            row = {"experiment": run.name, "status": run.status}
            for name in names:
                row[name] = run.final.get(name)
            best_record = run.final.get("best") or {}
            row["best"] = ", ".join(f"{k} {v:.4g}" for k, v in best_record.items()
                                    if k not in ("step", "epoch") and isinstance(v, (int, float)))
            row.update({"runtime (min)": round(run.runtime_s / 60, 1), "GPUs": run.gpus, "cost": run.cost})
            rows.append(row)
        frame = pd.DataFrame(rows)
        for name in names:
            values = [(r["experiment"], r.get(name)) for r in rows if _number(r.get(name))]
            if values:
                higher = HIGHER_IS_BETTER.get(name, False)
                best[name] = (max if higher else min)(values, key=lambda item: item[1])[0]
        return frame, best

    def predictions(self, comparison: Comparison, limit: int = PREDICTION_ROWS) -> pd.DataFrame:
        """The same validation rows side by side: the input, the target, and each run's prediction."""
        merged = None
        for run in comparison.runs:
            path = paths.run_dir(run.id, self.home) / "predictions.parquet"
            try:
                frame = pd.read_parquet(path)
            except (OSError, ValueError):
                continue
            key = "row" if "row" in frame.columns else None
            if key is None or "prediction" not in frame.columns:
                continue
            shown = frame[[c for c in (key, "prompt", "target", "prediction") if c in frame.columns]].copy()
            shown = shown.rename(columns={"prediction": run.name})
            if merged is None:
                merged = shown
            else:
                merged = merged.merge(shown[[key, run.name]], on=key, how="outer")
        if merged is None:
            return pd.DataFrame()
        return merged.sort_values("row").head(limit).reset_index(drop=True)

    def prediction_images(self, comparison: Comparison, rows: list[int]) -> dict[int, bytes | None]:
        """The validation images of ``rows`` (the ``row`` numbers of ``predictions``) when the runs are of an
        image problem type, else nothing: read from the validation table of the first image run whose table
        can be read (the rows are the same rows in every run)."""
        for run in comparison.runs:
            row = self.store.experiments.get(run.id) if run.problem_type in IMAGE_TYPES else None
            images = run_validation_images(self.experiments, row, rows) if row else {}
            if any(images.values()):
                return images
        return {}

    def win_rates(self, comparison: Comparison) -> pd.DataFrame:
        """Every stored evaluation of the compared runs (newest first per run): against what, how it went.

        A baseline that is itself one of the compared runs is marked, so a head-to-head result
        reads as such; evaluations still running or failed show their state instead of a rate.
        """
        compared = {run.id for run in comparison.runs}
        rows = []
        for run in comparison.runs:
            for evaluation in self.evaluations.for_experiment(run.id):
                result, state = evaluation.get("result"), evaluation["state"]
                against = evaluation.get("baseline_name") or evaluation.get("baseline") or "?"
                if evaluation.get("baseline") in compared:
                    against += " (compared here)"
                row = {"experiment": run.name, "against": against, "judge": evaluation.get("judge_model") or "",
                       "status": state.get("status") or ""}
                if result and state.get("status") == "Completed":
                    row.update({"win rate": f"{result['win_rate'] * 100:.1f}%",
                                "95% CI": f"{result['ci_low'] * 100:.1f}–{result['ci_high'] * 100:.1f}%",
                                "wins": result["wins"], "ties": result["ties"], "losses": result["losses"],
                                "prompts": result["total"]})
                rows.append(row)
        return pd.DataFrame(rows, columns=WIN_RATE_COLUMNS)

    # ---- across a project ------------------------------------------------------------------
    def project_runs(self, project_id: str | None, problem_type: str, metric: str) -> pd.DataFrame:
        """Completed experiments of one problem type: numeric hyperparameters and the chosen metric."""
        rows = []
        for row in self.store.experiments.list(project_id):
            if row.get("status") != "Completed" or row.get("problem_type") != problem_type:
                continue
            run_dir = paths.run_dir(row["id"], self.home)
            final = read_final_metrics(run_dir) or {}
            value = final.get(metric)
            if not _number(value):
                continue
            flat = flatten(_config(run_dir, row))
            entry = {"experiment": row.get("name") or row["id"], metric: float(value)}
            for key in PARALLEL_KEYS:
                if _number(flat.get(key)):
                    entry[key] = float(flat[key])
            rows.append(entry)
        return pd.DataFrame(rows)


def _validation_metrics(records: list[dict]) -> list[str]:
    names = []
    for record in records:
        name = record.get("name")
        if record.get("split") == "validation" and name not in ("lr",) and name not in names:
            names.append(name)
    return names


def _config(run_dir: Path, row: dict) -> dict:
    try:
        return yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return row.get("config") or {}


def _text(value) -> str:
    return "" if value is None else str(value)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
