"""What a finished run leaves for the leaderboard: final metrics, the primary metric and its best value."""
from __future__ import annotations

from pathlib import Path

import yaml

from studio.config.problem_types import DEFAULT_METRICS

from .run_folder_reader import read_final_metrics


def final_metric_fields(run_dir: Path) -> dict:
    metrics = read_final_metrics(run_dir)
    if not metrics:
        return {}
    name = primary_metric(run_dir)
    scalars = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    if name not in scalars:
        name = next(iter(scalars), None)
    if name is None:
        return {"final_metrics": metrics}
    # The engine records the best evaluation of the primary metric beside the last one.
    best = (metrics.get("best") or {}).get(name, scalars[name])
    return {"final_metrics": metrics, "metric_name": name, "best_metric": best}


def run_config(run_dir: Path) -> dict:
    try:
        config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return config if isinstance(config, dict) else {}


def primary_metric(run_dir: Path) -> str | None:
    """The first of the run's validation metrics (the one the leaderboard sorts by)."""
    config = run_config(run_dir)
    metrics = (config.get("prediction") or {}).get("metrics")
    if metrics:
        return metrics[0]
    defaults = DEFAULT_METRICS.get(config.get("problem_type"))
    return defaults[0] if defaults else None


def requested_gpus(run_dir: Path) -> int:
    """``environment.number_of_gpus`` of the run's config.yaml (1 when absent or unreadable)."""
    value = (run_config(run_dir).get("environment") or {}).get("number_of_gpus", 1)
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1
