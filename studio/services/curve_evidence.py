"""What a run's own loss curves say: diverged, learning rate too high or too low, overfitting,
under-fitting, a plateau, or healthy; and the next experiments that address it, best first.

The rules mirror what an experienced practitioner checks first on the two loss curves of
metrics.jsonl (``split`` train/validation, ``name`` loss). Each candidate names its evidence
(the numbers it read) so the user can check the reasoning against the chart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from studio.config import ExperimentConfig

from .recommendation import Recommendation, rounded, same_value

# Findings that mean the model has too little capacity (a larger backbone may help) or too much.
NEEDS_CAPACITY = ("underfit", "plateau", "lr_low")
TOO_MUCH_CAPACITY = ("overfit",)
FLAT_DROP = 0.02        # under 2% lower from the first to the last quarter: the loss barely moved
PLATEAU_DROP = 0.01     # under 1% lower over the second half, after a real drop in the first
OVERFIT_RISE = 1.05     # validation loss 5% above its best, later than the best
ZIGZAG_UPS = 0.4        # share of training steps on which the loss rose
ZIGZAG_STEP = 0.05      # their mean size, relative to the mean loss


@dataclass
class CurveReading:
    finding: str  # diverged, lr_high, overfit, lr_low, underfit, plateau, healthy, no_curves
    candidates: list[Recommendation] = field(default_factory=list)


def read_curves(config: ExperimentConfig, metrics: list[dict]) -> CurveReading:
    train = loss_series(metrics, "train")
    valid = loss_series(metrics, "validation")
    finding, first = _finding(config, metrics, train, valid)
    return CurveReading(finding, [first] + [c for c in _fallbacks(config) if c.overrides != first.overrides])


def _finding(config, metrics, train, valid) -> tuple[str, Recommendation]:
    lr = config.training.learning_rate
    bad = next(((s, v) for s, v in train if not math.isfinite(v)), None)
    if bad or _diverged(train):
        seen = (f"training loss: {bad[1]} at step {bad[0]}" if bad else
                f"training loss rose from {_mean_head(train):.4f} (first quarter) to {_mean_tail(train):.4f} "
                "(last quarter)")
        return "diverged", Recommendation(
            "Lower the learning rate and clip gradients",
            f"The training loss became unstable (it rose well above its starting value or turned NaN). "
            f"A smaller learning rate ({lr:g} → {lr / 3:.2g}) with gradient clipping at 1.0 usually stabilises it.",
            {"training": {"learning_rate": rounded(lr / 3), "gradient_clip": 1.0}}, [seen], "diverged")
    zigzag = _zigzag(train)
    if zigzag:
        ups, size = zigzag
        return "lr_high", Recommendation(
            "Lower the learning rate: the loss zig-zags",
            f"The training loss rose on {ups:.0%} of the logged steps, by {size:.0%} of its level on average: "
            f"the steps overshoot. Halve the learning rate ({lr:g} → {lr / 2:.2g}) and clip gradients at 1.0.",
            {"training": {"learning_rate": rounded(lr / 2), "gradient_clip": 1.0}},
            [f"training loss: {ups:.0%} of {len(train) - 1} steps went up, {size:.0%} on average"], "lr_high")
    overfit = _overfitting(config, metrics, train, valid)
    if overfit:
        return "overfit", overfit
    if len(train) >= 4:
        first, last = _mean_head(train), _mean_tail(train)
        if first > 0 and (first - last) / first < FLAT_DROP:
            return "lr_low", Recommendation(
                "Raise the learning rate: the loss barely moved",
                f"Training loss went from {first:.4f} to {last:.4f} (under 2% lower). The updates are too small "
                f"to learn: try a learning rate of {lr * 3:.2g} instead of {lr:g}.",
                {"training": {"learning_rate": rounded(lr * 3)}},
                [f"training loss: {first:.4f} → {last:.4f} over {len(train)} steps"], "lr_low")
        if _still_falling(train) and (not valid or valid[-1][1] <= min(v for _, v in valid) * 1.01):
            epochs = config.training.epochs * 2
            return "underfit", Recommendation(
                "Train longer: the model is still improving",
                f"Both losses were still falling at the end of the run (training {first:.4f} → {last:.4f}), "
                f"with no sign of overfitting: it under-fits. Doubling the epochs to {epochs:g} should lower them "
                "further.", {"training": {"epochs": epochs}},
                [f"training loss still falling in the last quarter ({first:.4f} → {last:.4f})"
                 + (f"; validation loss at its lowest at the end ({valid[-1][1]:.4f})" if valid else "")],
                "underfit")
        half = train[len(train) // 2:]
        early, late = _mean_head(train, 0.5), _mean_tail(train, 0.5)
        if _mean_head(half, 0.5) > 0 and (_mean_head(half, 0.5) - _mean_tail(half, 0.5)) / _mean_head(half, 0.5) \
                < PLATEAU_DROP and early > late:
            return "plateau", _more_capacity(config, "plateau",
                                             f"training loss fell from {first:.4f} to {late:.4f} in the first half, "
                                             "then stayed flat (under 1% lower over the second half)")
    if not train:
        return "no_curves", _more_capacity(config, "no_curves", "no training loss was logged")
    return "healthy", _more_capacity(config, "healthy", "no instability, stall or overfitting in the curves")


def _overfitting(config, metrics, train, valid) -> Recommendation | None:
    if len(valid) < 3:
        return None
    best_step, best = min(valid, key=lambda p: p[1])
    last = valid[-1][1]
    widening = None
    if train:
        gap_first = valid[0][1] - _train_at(train, valid[0][0])
        gap_last = last - _train_at(train, valid[-1][0])
        if gap_last > max(0.1, 2 * max(gap_first, 0.0)) and last > best * 1.01:
            widening = (gap_first, gap_last)
    if not (last > best * OVERFIT_RISE and best_step < valid[-1][0]) and not widening:
        return None
    best_epoch = _epoch_at(metrics, best_step) or config.training.epochs
    epochs = max(round(best_epoch, 2), 0.5)
    seen = f"validation loss lowest ({best:.4f}) at step {best_step}, then {last:.4f} at step {valid[-1][0]}"
    if widening:
        seen += f"; gap to training loss {widening[0]:.3f} → {widening[1]:.3f}"
    return Recommendation(
        "Stop earlier: the model starts to overfit",
        f"Validation loss was lowest ({best:.4f}) around epoch {best_epoch:.2f} and then rose to {last:.4f} "
        f"while training loss kept falling: a widening gap is overfitting. Train for {epochs:g} epochs "
        f"with a little more LoRA dropout.",
        {"training": {"epochs": epochs, "lora_dropout": min(0.3, round(config.training.lora_dropout + 0.05, 2))}},
        [seen], "overfit")


def _more_capacity(config: ExperimentConfig, rule: str, seen: str) -> Recommendation:
    if config.architecture.training_mode in ("lora", "qlora") and config.training.lora_rank < 64:
        rank = config.training.lora_rank * 2
        alpha = rank * 2
        alpha_text = (f" with alpha {alpha:g} (from {config.training.lora_alpha:g})"
                      if not same_value(config.training.lora_alpha, alpha) else f" (alpha stays {alpha:g})")
        why = ("The loss stopped improving at a level the adapter cannot get below" if rule == "plateau" else
               "The curves show no instability, stall or overfitting")
        return Recommendation(
            "Give the adapter more capacity",
            f"{why}. A LoRA rank of {rank} (from {config.training.lora_rank}){alpha_text} lets the adapter fit "
            "finer detail at a small memory cost.",
            {"training": {"lora_rank": rank, "lora_alpha": alpha}}, [seen], rule)
    return _polish(config, seen)


def _polish(config: ExperimentConfig, seen: str = "") -> Recommendation:
    lr = config.training.learning_rate
    return Recommendation(
        "Try a lower learning rate for a final polish",
        f"The run looks healthy. A second run at half the learning rate ({lr / 2:.2g}) often gains a little.",
        {"training": {"learning_rate": rounded(lr / 2)}}, [seen] if seen else [], "polish")


def _fallbacks(config: ExperimentConfig) -> list[Recommendation]:
    """Further single changes, for when the first ones were already tried in the project."""
    lr, epochs = config.training.learning_rate, config.training.epochs
    out = [_polish(config)]
    out.append(Recommendation(
        "Try a higher learning rate", f"A run at twice the learning rate ({lr * 2:.2g}) shows whether it "
        "learns faster without becoming unstable.", {"training": {"learning_rate": rounded(lr * 2)}}, [], "explore"))
    out.append(Recommendation(
        "Train one more epoch", f"{epochs + 1:g} epochs instead of {epochs:g} show whether the model has "
        "more to learn from this data.", {"training": {"epochs": epochs + 1}}, [], "explore"))
    if config.training.warmup_epochs == 0:
        out.append(Recommendation(
            "Warm the learning rate up", "A short warm-up (0.1 epochs) protects the first updates, when the "
            "adapter is still random.", {"training": {"warmup_epochs": 0.1}}, [], "explore"))
    for factor in (3, 9):
        out.append(Recommendation(
            "Try a much lower learning rate", f"A run at 1/{factor} of the learning rate ({lr / factor:.2g}) "
            "probes the other side of the range.", {"training": {"learning_rate": rounded(lr / factor)}}, [],
            "explore"))
    return out


def loss_series(metrics: list[dict], split: str) -> list[tuple[int, float]]:
    points = []
    for m in metrics:
        if m.get("split") == split and m.get("name") == "loss" and m.get("value") is not None:
            try:
                points.append((int(m["step"]), float(m["value"])))
            except (KeyError, TypeError, ValueError):
                continue
    return points


def _train_at(train, step: int) -> float:
    before = [v for s, v in train if s <= step] or [train[0][1]]
    return before[-1]


def _epoch_at(metrics: list[dict], step: int) -> float | None:
    for m in metrics:
        if m.get("step") == step and m.get("epoch") is not None:
            return float(m["epoch"])
    return None


def _mean_head(points, share=0.25):
    values = [v for _, v in points[: max(1, int(len(points) * share))]]
    return sum(values) / len(values)


def _mean_tail(points, share=0.25):
    values = [v for _, v in points[-max(1, int(len(points) * share)):]]
    return sum(values) / len(values)


def _still_falling(points) -> bool:
    late = points[len(points) // 2:]
    return _mean_head(late, 0.5) - _mean_tail(late, 0.5) > 0.01 * abs(_mean_head(late, 0.5))


def _diverged(points) -> bool:
    return len(points) >= 4 and _mean_tail(points) > 1.5 * _mean_head(points)


def _zigzag(points) -> tuple[float, float] | None:
    """(share of steps that went up, their mean size relative to the mean loss) when the loss zig-zags."""
    if len(points) < 8:
        return None
    values = [v for _, v in points]
    level = sum(values) / len(values)
    rises = [b - a for a, b in zip(values, values[1:]) if b > a]
    if level <= 0 or not rises:
        return None
    ups, size = len(rises) / (len(values) - 1), sum(rises) / len(rises) / level
    return (ups, size) if ups >= ZIGZAG_UPS and size >= ZIGZAG_STEP else None
