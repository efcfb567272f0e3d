"""AutoML: propose the next hyperparameters to try, learning from finished trials.

Optuna's TPE sampler is used in ask/tell form over an in-memory study rebuilt from the
finished trials each time, so nothing but the experiments themselves needs storing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.config import ExperimentConfig, from_dict, merge
from studio.config.problem_types import DEFAULT_METRICS, HIGHER_IS_BETTER


@dataclass(frozen=True)
class SearchSpace:
    learning_rate: tuple[float, float] = (1e-5, 1e-3)
    epochs: tuple[float, ...] = (1, 2, 3)
    lora_rank: tuple[int, ...] = (4, 8, 16, 32)
    lora_dropout: tuple[float, float] = (0.0, 0.2)
    warmup_epochs: tuple[float, ...] = (0.0, 0.05, 0.1)


@dataclass
class Trial:
    overrides: dict[str, dict[str, Any]]
    value: float | None  # the objective metric of a finished run; None while running/failed


# What each searched setting is called where the dialog says what AutoML tunes.
SEARCHED_LABELS = {"learning_rate": "learning rate", "epochs": "epochs", "warmup_epochs": "warm-up",
                   "lora_rank": "LoRA rank", "lora_dropout": "LoRA dropout"}


def objective_metric(config: ExperimentConfig) -> str:
    """The metric AutoML optimises: the run's first validation metric (chosen, else the problem
    type's default, which is what the run computed), else validation loss."""
    return (config.prediction.metrics or DEFAULT_METRICS.get(config.problem_type) or ["loss"])[0]


def searched_settings(config: ExperimentConfig, space: SearchSpace = SearchSpace()) -> list[str]:
    """The settings AutoML varies for this config (LoRA ones only for LoRA/QLoRA runs), as labels."""
    return [SEARCHED_LABELS[name] for name in _distributions(config, space)]


def propose(base: ExperimentConfig, finished: list[Trial], count: int, seed: int = 0,
            space: SearchSpace = SearchSpace()) -> list[ExperimentConfig]:
    """``count`` new configs derived from ``base``, informed by ``finished`` trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    metric = objective_metric(base)
    direction = "maximize" if HIGHER_IS_BETTER.get(metric, False) else "minimize"
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    distributions = _distributions(base, space)
    for trial in finished:
        if trial.value is None:
            continue
        params = {name: trial.overrides.get("training", {}).get(name) for name in distributions}
        if any(v is None or not _contains(distributions[k], v) for k, v in params.items()):
            continue
        study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=trial.value))
    configs = []
    base_data = base.model_dump(mode="json")
    base_data["experiment_name"] = ""
    for _ in range(count):
        trial = study.ask(distributions)
        configs.append(from_dict(merge(base_data, {"training": dict(base_data["training"], **trial.params)})))
    return configs


def _distributions(base: ExperimentConfig, space: SearchSpace) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    out: dict[str, Any] = {
        "learning_rate": FloatDistribution(*space.learning_rate, log=True),
        "epochs": CategoricalDistribution(list(space.epochs)),
        "warmup_epochs": CategoricalDistribution(list(space.warmup_epochs)),
    }
    if base.architecture.training_mode in ("lora", "qlora"):
        out["lora_rank"] = CategoricalDistribution(list(space.lora_rank))
        out["lora_dropout"] = FloatDistribution(*space.lora_dropout)
    return out


def _contains(distribution, value) -> bool:
    try:
        return distribution._contains(distribution.to_internal_repr(value))
    except (ValueError, TypeError):
        return False
