"""Optimizer (with differential learning rates) and the warm-up + decay schedule."""
from __future__ import annotations

import math

import torch

from studio.config import ExperimentConfig
from training.errors import RunError

OPTIMIZERS = {
    "AdamW": torch.optim.AdamW,
    "Adam": torch.optim.Adam,
    "SGD": lambda params, lr, weight_decay: torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay),
    "RMSprop": torch.optim.RMSprop,
    "Adadelta": torch.optim.Adadelta,
}


def parameter_groups(model: torch.nn.Module, cfg: ExperimentConfig) -> list[dict]:
    """Trainable parameters, split off into a differential-rate group by name substring."""
    tr = cfg.training
    base, differential = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if tr.differential_learning_rate_layers and any(layer in name for layer in tr.differential_learning_rate_layers):
            differential.append(param)
        else:
            base.append(param)
    groups = [{"params": base, "lr": tr.learning_rate}] if base else []
    if differential:
        groups.append({"params": differential, "lr": tr.differential_learning_rate})
    if not groups:
        raise RunError("architecture.training_mode: the model has no trainable parameters")
    return groups


def build_optimizer(model: torch.nn.Module, cfg: ExperimentConfig) -> torch.optim.Optimizer:
    tr = cfg.training
    groups = parameter_groups(model, cfg)
    if tr.optimizer == "AdamW8bit":
        # bitsandbytes >= 0.48 has CPU kernels for it as well (measured here), so no CUDA check.
        try:
            import bitsandbytes as bnb
        except ImportError as exc:
            raise RunError("training.optimizer: AdamW8bit needs bitsandbytes (pip install bitsandbytes)") from exc
        return bnb.optim.AdamW8bit(groups, lr=tr.learning_rate, weight_decay=tr.weight_decay)
    return OPTIMIZERS[tr.optimizer](groups, lr=tr.learning_rate, weight_decay=tr.weight_decay)


def lr_lambda(schedule: str, warmup_steps: int, total_steps: int, min_ratio: float):
    """Multiplier of the base rate at optimizer step ``step`` (0-based): linear warm-up, then decay to min_ratio."""

    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        if schedule == "Constant":
            return 1.0
        span = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / span)
        decay = 0.5 * (1.0 + math.cos(math.pi * progress)) if schedule == "Cosine" else 1.0 - progress
        return min_ratio + (1.0 - min_ratio) * decay

    return factor


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: ExperimentConfig, steps_per_epoch: int,
                    total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    tr = cfg.training
    warmup = int(round(tr.warmup_epochs * steps_per_epoch))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(tr.schedule, warmup, total_steps, tr.min_learning_rate_ratio))
