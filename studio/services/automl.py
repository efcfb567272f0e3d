"""The objective an AutoML study optimises by default, and which way is better.

Ask KGM reads the same metric from a project's history, so both agree on what "better" means.
"""
from __future__ import annotations

from studio.config import ExperimentConfig
from studio.config.problem_types import DEFAULT_METRICS, HIGHER_IS_BETTER


def objective_metric(config: ExperimentConfig) -> str:
    """The run's first validation metric (chosen, else the problem type's default, which is what the
    run computed), else validation loss."""
    return (config.prediction.metrics or DEFAULT_METRICS.get(config.problem_type) or ["loss"])[0]


def default_direction(metric: str) -> str:
    return "maximize" if HIGHER_IS_BETTER.get(metric, False) else "minimize"
