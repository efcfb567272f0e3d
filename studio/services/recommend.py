"""Ask KGM, the open way: the next experiment, from the evidence a practitioner would read.

The evidence comes from four places, each its own module: the run's failure
(failure_advice), its loss curves (curve_evidence), the project's other runs on the same data
(history_evidence) and the model registry (registry_evidence); cost_evidence adds what the run
cost. Each proposes candidates, best first; the first one that changes something, validates,
and was not already run in the project is the recommendation, with the evidence it rests on.
"""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from studio.config import ConfigError, ExperimentConfig

from .curve_evidence import NEEDS_CAPACITY, TOO_MUCH_CAPACITY, read_curves
from .failure_advice import failure_advice
from .history_evidence import ProjectHistory
from .recommendation import Recommendation, only_real_changes, same_value
from .registry_evidence import BackboneOptions

PRUNED = "Pruned"
# A pruned trial's curves stop early by design (its study stopped it), not by a fault.
PRUNED_EVIDENCE = ("This run was pruned by its AutoML study: its validations were behind the study's other "
                   "trials, so it stopped early (its checkpoint is kept).")
MAX_OOM_STEPS = 3


def recommend(config: ExperimentConfig, metrics: list[dict], status: str | None = None,
              error: str | None = None, alternative_model: str | None = None, *,
              history: ProjectHistory | None = None, own_value: float | None = None,
              backbones: BackboneOptions | None = None) -> Recommendation:
    """The single most useful next step for this run; its overrides list only real changes.

    A failed run gets advice about its failure (``error``), never about curves it did not finish;
    ``alternative_model`` is a model that loads here, offered when the run's own model did not.
    ``history`` (the project's other runs) adds its evidence and rules out configs already tried.
    """
    history = history or ProjectHistory()
    if status == "Failed":
        candidates = _failure_candidates(config, error, alternative_model, backbones)
        if not candidates[0].launchable:  # the fix is outside the settings: say so, launch nothing
            return only_real_changes(config, candidates[0]).with_evidence(history.summary(config))
        extra = []
    else:
        reading = read_curves(config, metrics)
        first, fallbacks = reading.candidates[0], reading.candidates[1:]
        registry = []
        if backbones is not None and reading.finding in NEEDS_CAPACITY:
            registry = backbones.candidates("larger", config, "")
        elif backbones is not None and reading.finding in TOO_MUCH_CAPACITY:
            registry = backbones.candidates("smaller", config, "it overfits")
        learned = history.better_settings(config, own_value)
        if reading.finding in ("diverged", "lr_high"):  # an unstable run is fixed before anything else
            candidates = [first] + learned + registry + fallbacks
        else:
            candidates = learned + [first] + registry + fallbacks
        extra = [PRUNED_EVIDENCE if status == PRUNED else ""]
    picked, skipped = _first_untried(config, candidates, history)
    if picked is None:
        return Recommendation(
            "Every change KGM would suggest was already tried",
            "Each candidate change for this run was already run in this project (see the evidence). Compare "
            "those runs, or start an AutoML study to search further.", {},
            [history.summary(config)] + skipped, "exhausted")
    return picked.with_evidence(history.summary(config), *extra, *skipped)


def _failure_candidates(config, error, alternative_model, backbones) -> list[Recommendation]:
    fix = failure_advice(config, error, alternative_model)
    candidates = [fix]
    if fix.rule == "out_of_memory":
        # Halve again (and again) when the first halving was already tried and also ran out.
        step = fix
        for _ in range(MAX_OOM_STEPS - 1):
            try:
                applied = step.apply_to(config)
            except (ValidationError, ConfigError):
                break
            again = failure_advice(applied, error)
            merged = Recommendation(again.title, again.explanation, changes_between(config, again.apply_to(applied)),
                                    again.evidence, again.rule)
            if not merged.overrides or merged.overrides == step.overrides:
                break
            candidates.append(merged)
            step = merged
        if backbones is not None:
            candidates += backbones.candidates("smaller", config, "it ran out of memory")
    return candidates


def _first_untried(config: ExperimentConfig, candidates: list[Recommendation],
                   history: ProjectHistory) -> tuple[Recommendation | None, list[str]]:
    skipped: list[str] = []
    seen: set[str] = set()
    for candidate in candidates:
        candidate = only_real_changes(config, candidate)
        if not candidate.launchable or repr(candidate.overrides) in seen:
            continue
        seen.add(repr(candidate.overrides))
        try:
            proposed = candidate.apply_to(config)
        except (ValidationError, ConfigError):  # a step past a bound: not a real option
            continue
        earlier = history.tried(proposed)
        if earlier is None:
            return candidate, skipped
        skipped.append(f"already tried, not proposed again: {_describe(candidate.overrides)} "
                       f"(run {earlier.name}, {earlier.status or 'unknown status'})")
    return None, skipped


def changes_between(base: ExperimentConfig, new: ExperimentConfig) -> dict[str, Any]:
    """The overrides that turn ``base`` into ``new`` (sections as dicts, top-level keys as values)."""
    before, after = base.model_dump(mode="json"), new.model_dump(mode="json")
    out: dict[str, Any] = {}
    for key, value in after.items():
        if isinstance(value, dict):
            section = {k: v for k, v in value.items() if not same_value((before.get(key) or {}).get(k), v)}
            if section:
                out[key] = section
        elif key != "experiment_name" and not same_value(before.get(key), value):
            out[key] = value
    return out


def _describe(overrides: dict[str, Any]) -> str:
    parts = []
    for key, value in overrides.items():
        if isinstance(value, dict):
            parts += [f"{key}.{k} {v}" for k, v in value.items()]
        else:
            parts.append(f"{key} {value}")
    return ", ".join(parts)


__all__ = ["Recommendation", "recommend", "only_real_changes", "changes_between", "PRUNED"]
