"""The optuna side of a study's search space: distributions from StudySettings, and a trial's config.

Backbones are searched by registry id; every other parameter is named after the training
field it sets, so a trial's params read as the config keys they change.
"""
from __future__ import annotations

from typing import Any

from studio.config import ExperimentConfig, from_dict, merge
from studio.config.study import LORA_FIELDS, RANGES, SearchSettings

BACKBONE = "llm_backbone"
LABELS = {"learning_rate": "learning rate", "epochs": "epochs", "warmup_epochs": "warm-up",
          "lora_rank": "LoRA rank", "lora_alpha": "LoRA alpha", "lora_dropout": "LoRA dropout",
          "batch_size": "batch size", BACKBONE: "backbone"}


def distributions(base: ExperimentConfig, search: SearchSettings) -> dict[str, Any]:
    """What the study samples for ``base``: LoRA settings only for LoRA/QLoRA runs."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    lora = base.architecture.training_mode in ("lora", "qlora")
    out: dict[str, Any] = {}
    for name in type(search).model_fields:
        values = getattr(search, name)
        if not values or (name in LORA_FIELDS and not lora):
            continue
        key = BACKBONE if name == "backbones" else name
        if name in RANGES:
            low, high = values
            out[key] = (FloatDistribution(low, high, log=RANGES[name]) if low < high
                        else CategoricalDistribution([low]))
        else:
            out[key] = CategoricalDistribution(list(values))
    return out


def searched_labels(base: ExperimentConfig, search: SearchSettings) -> list[str]:
    return [LABELS[name] for name in distributions(base, search)]


def trial_config(base: ExperimentConfig, params: dict[str, Any], name: str) -> ExperimentConfig:
    """``base`` with a trial's params set (ConfigError when the combination breaks a rule)."""
    data = base.model_dump(mode="json")
    training = {k: v for k, v in params.items() if k != BACKBONE}
    change: dict[str, Any] = {"experiment_name": name, "training": training}
    if BACKBONE in params:
        change[BACKBONE] = params[BACKBONE]
    return from_dict(merge(data, change))
