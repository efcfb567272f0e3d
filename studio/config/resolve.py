"""Turn `auto`/null settings into concrete values at run start (saved in the run folder)."""
from __future__ import annotations

import random

from .experiment import ExperimentConfig
from .problem_types import CLASSIFIER_TYPES, DEFAULT_METRICS, GENERATION_TYPES, LOSS_FUNCTIONS


def resolve(config: ExperimentConfig, *, max_position_embeddings: int | None = None) -> tuple[ExperimentConfig, list[str]]:
    """Return a copy with every auto value decided, and notes saying what was decided."""
    cfg = config.model_copy(deep=True)
    notes: list[str] = []
    pt = cfg.problem_type
    if cfg.training.evaluate_before_training is None:
        cfg.training.evaluate_before_training = pt in CLASSIFIER_TYPES
    if cfg.tokenizer.padding_side is None:
        cfg.tokenizer.padding_side = "left" if pt in GENERATION_TYPES else "right"
    if cfg.prediction.metrics is None:
        cfg.prediction.metrics = list(DEFAULT_METRICS[pt])
    if cfg.training.loss_function is None:
        cfg.training.loss_function = LOSS_FUNCTIONS[pt][0]
    if cfg.environment.seed == -1:
        cfg.environment.seed = random.SystemRandom().randrange(0, 2**31 - 1)
        notes.append(f"environment.seed: -1 resolved to random seed {cfg.environment.seed}")
    if max_position_embeddings and cfg.tokenizer.max_length > max_position_embeddings:
        notes.append(f"tokenizer.max_length: {cfg.tokenizer.max_length} capped at the model's "
                     f"max_position_embeddings {max_position_embeddings}")
        cfg.tokenizer.max_length = max_position_embeddings
    if cfg.architecture.gradient_checkpointing and cfg.environment.find_unused_parameters:
        cfg.environment.find_unused_parameters = False
        notes.append("environment.find_unused_parameters: disabled because gradient checkpointing is on")
    return cfg, notes
