"""What a run cost, and about what the suggested one will: runtime and price scale with epochs and
with the backbone's size (the parameter estimates of registry_evidence)."""
from __future__ import annotations

from studio.config import ExperimentConfig

from .recommendation import Recommendation
from .registry_evidence import model_parameters
from .run_duration import format_duration as duration


def cost_line(config: ExperimentConfig, recommendation: Recommendation, runtime_s: float, gpus: int,
              total_cost: float) -> str:
    """One evidence line: this run's runtime and cost, and the estimate for the suggestion."""
    if runtime_s <= 0:
        return ""
    where = f"{gpus} GPU{'s' * (gpus != 1)}" if gpus else "CPU"
    text = f"cost: this run took {duration(runtime_s)} on {where}" + (f", ${total_cost:,.2f}" if total_cost else "")
    if not recommendation.launchable:
        return text
    factor = _scale(config, recommendation)
    if factor is None:
        return text
    estimate = f"{duration(runtime_s * factor)}" + (f", ${total_cost * factor:,.2f}" if total_cost else "")
    return text + f"; the suggested run: about {estimate}"


def _scale(config: ExperimentConfig, recommendation: Recommendation) -> float | None:
    factor = 1.0
    epochs = recommendation.overrides.get("training", {}).get("epochs")
    if epochs and config.training.epochs:
        factor *= float(epochs) / float(config.training.epochs)
    backbone = recommendation.overrides.get("llm_backbone")
    if backbone:
        now, then = model_parameters(config.llm_backbone), model_parameters(backbone)
        if not now or not then:
            return None
        factor *= then / now
    return factor

