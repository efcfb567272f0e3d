"""What Ask KGM proposes: a title, the why, the config changes, and the evidence each rule read.

Every rule module (curve_evidence, failure_advice, history_evidence, registry_evidence) returns
these; ``recommend`` picks one. ``overrides`` is {section: {key: value}} for section settings and
{key: value} for top-level ones (llm_backbone); ``evidence`` names what the advice rests on, one
line per source ("3 runs on this dataset: ...").
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from studio.config import ExperimentConfig


@dataclass
class Recommendation:
    title: str
    explanation: str
    overrides: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    # The rule that made it ("overfitting", "history", "larger-backbone", ...), for tests and the phrasing model.
    rule: str = ""

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

    def with_evidence(self, *lines: str) -> "Recommendation":
        return Recommendation(self.title, self.explanation, self.overrides,
                              self.evidence + [line for line in lines if line], self.rule)


def only_real_changes(config: ExperimentConfig, recommendation: Recommendation) -> Recommendation:
    """Drop overrides equal to the config's current values: a suggestion lists only what it changes."""
    current = config.model_dump(mode="json")
    changed: dict[str, Any] = {}
    for key, values in recommendation.overrides.items():
        if isinstance(values, dict):
            section = {k: v for k, v in values.items() if not same_value(current.get(key, {}).get(k), v)}
            if section:
                changed[key] = section
        elif not same_value(current.get(key), values):
            changed[key] = values
    return Recommendation(recommendation.title, recommendation.explanation, changed, list(recommendation.evidence),
                          recommendation.rule)


def same_value(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def rounded(value: float) -> float:
    """Three significant digits: what a person would type (3.33e-05, not 3.3333333e-05)."""
    return float(f"{value:.3g}")
