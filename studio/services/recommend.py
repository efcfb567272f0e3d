"""Ask KGM, the open way: a recommended next experiment read from a run's own curves.

The rules mirror what an experienced practitioner checks first: did it fail, diverge,
overfit, underfit or barely move? Each finding proposes config overrides and says why.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from studio.config import ExperimentConfig

from .failure_advice import failure_advice


@dataclass
class Recommendation:
    title: str
    explanation: str
    # {section: {key: value}} for section settings, {key: value} for top-level ones (llm_backbone).
    overrides: dict[str, Any] = field(default_factory=dict)

    def apply_to(self, config: ExperimentConfig) -> ExperimentConfig:
        data = config.model_dump(mode="json")
        for key, values in self.overrides.items():
            if isinstance(values, dict):
                data[key].update(values)
            else:
                data[key] = values
        return ExperimentConfig.model_validate(data)

    @property
    def launchable(self) -> bool:
        """Whether there is a changed experiment to launch (a failure fixed outside the config has none)."""
        return bool(self.overrides)


def recommend(config: ExperimentConfig, metrics: list[dict], status: str | None = None,
              error: str | None = None, alternative_model: str | None = None) -> Recommendation:
    """Pick the single most useful next step for this run; its overrides list only real changes.

    A failed run gets advice about its failure (``error``), never about curves it did not finish;
    ``alternative_model`` is a model that loads here, offered when the run's own model did not.
    """
    if status == "Failed":
        title, explanation, overrides = failure_advice(config, error, alternative_model)
        return only_real_changes(config, Recommendation(title, explanation, overrides))
    return only_real_changes(config, _from_curves(config, metrics))


def only_real_changes(config: ExperimentConfig, recommendation: Recommendation) -> Recommendation:
    """Drop overrides equal to the config's current values: a suggestion lists only what it changes."""
    current = config.model_dump(mode="json")
    changed: dict[str, Any] = {}
    for key, values in recommendation.overrides.items():
        if isinstance(values, dict):
            section = {k: v for k, v in values.items() if not _same(current.get(key, {}).get(k), v)}
            if section:
                changed[key] = section
        elif not _same(current.get(key), values):
            changed[key] = values
    return Recommendation(recommendation.title, recommendation.explanation, changed)


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _from_curves(config: ExperimentConfig, metrics: list[dict]) -> Recommendation:
    train = _series(metrics, "train", "loss")
    valid = _series(metrics, "validation", "loss")
    lr = config.training.learning_rate
    if any(not math.isfinite(v) for _, v in train) or _diverged(train):
        return Recommendation(
            "Lower the learning rate and clip gradients",
            f"The training loss became unstable (it rose well above its starting value or turned NaN). "
            f"A smaller learning rate ({lr:g} → {lr / 3:.2g}) with gradient clipping at 1.0 usually stabilises it.",
            {"training": {"learning_rate": _round(lr / 3), "gradient_clip": 1.0}})
    if len(valid) >= 3:
        best_step, best = min(valid, key=lambda p: p[1])
        last = valid[-1][1]
        if last > best * 1.05 and best_step < valid[-1][0]:
            best_epoch = _epoch_at(metrics, best_step) or config.training.epochs
            epochs = max(round(best_epoch, 2), 0.5)
            return Recommendation(
                "Stop earlier: the model starts to overfit",
                f"Validation loss was lowest ({best:.4f}) around epoch {best_epoch:.2f} and then rose to {last:.4f} "
                f"while training loss kept falling: a widening gap is overfitting. Train for {epochs:g} epochs "
                f"with a little more LoRA dropout.",
                {"training": {"epochs": epochs,
                              "lora_dropout": min(0.3, round(config.training.lora_dropout + 0.05, 2))}})
    if len(train) >= 4:
        first, last = _mean_head(train), _mean_tail(train)
        if first > 0 and (first - last) / first < 0.02:
            return Recommendation(
                "Raise the learning rate: the loss barely moved",
                f"Training loss went from {first:.4f} to {last:.4f} (under 2% lower). The updates are too small "
                f"to learn: try a learning rate of {lr * 3:.2g} instead of {lr:g}.",
                {"training": {"learning_rate": _round(lr * 3)}})
        if _still_falling(train) and (not valid or valid[-1][1] <= min(v for _, v in valid) * 1.01):
            epochs = config.training.epochs * 2
            return Recommendation(
                "Train longer: the model is still improving",
                f"Both losses were still falling at the end of the run (training {first:.4f} → {last:.4f}), "
                f"with no sign of overfitting. Doubling the epochs to {epochs:g} should lower them further.",
                {"training": {"epochs": epochs}})
    if config.architecture.training_mode in ("lora", "qlora") and config.training.lora_rank < 64:
        rank = config.training.lora_rank * 2
        alpha = rank * 2
        alpha_text = (f" with alpha {alpha:g} (from {config.training.lora_alpha:g})"
                      if not _same(config.training.lora_alpha, alpha) else f" (alpha stays {alpha:g})")
        return Recommendation(
            "Give the adapter more capacity",
            f"The curves show no instability, stall or overfitting. A LoRA rank of {rank} (from "
            f"{config.training.lora_rank}){alpha_text} lets the adapter fit finer detail at a small memory cost.",
            {"training": {"lora_rank": rank, "lora_alpha": alpha}})
    return Recommendation(
        "Try a lower learning rate for a final polish",
        f"The run looks healthy. A second run at half the learning rate ({lr / 2:.2g}) often gains a little.",
        {"training": {"learning_rate": _round(lr / 2)}})


def _series(metrics: list[dict], split: str, name: str) -> list[tuple[int, float]]:
    return [(int(m["step"]), float(m["value"])) for m in metrics
            if m.get("split") == split and m.get("name") == name and m.get("value") is not None]


def _epoch_at(metrics: list[dict], step: int) -> float | None:
    for m in metrics:
        if int(m.get("step", -1)) == step and m.get("epoch") is not None:
            return float(m["epoch"])
    return None


def _mean_head(points, share=0.25):
    values = [v for _, v in points[: max(1, int(len(points) * share))]]
    return sum(values) / len(values)


def _mean_tail(points, share=0.25):
    values = [v for _, v in points[-max(1, int(len(points) * share)):]]
    return sum(values) / len(values)


def _still_falling(points) -> bool:
    half = len(points) // 2
    late = points[half:]
    return _mean_head(late, 0.5) - _mean_tail(late, 0.5) > 0.01 * abs(_mean_head(late, 0.5))


def _diverged(points) -> bool:
    return len(points) >= 4 and _mean_tail(points) > 1.5 * _mean_head(points)


def _round(value: float) -> float:
    return float(f"{value:.3g}")
