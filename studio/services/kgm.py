"""Ask KGM for an experiment, and launch what it suggests as a linked experiment.

``recommend`` (studio.services.recommend) is pure; this module feeds it one stored experiment
(its config, its run folder's curves, its status and error), the project's other runs, the
model registry and the run's cost, and turns the answer into a new queued experiment through
the ExperimentService, so the new row is validated, written and queued exactly like one made in
the New Experiment dialog. The explanation, with its evidence, is stored on the new row.
"""
from __future__ import annotations

from dataclasses import asdict

import yaml

from studio.config import ConfigError

from studio.runner.run_folder_reader import METRICS_FILE, MetricsTail
from studio.store.names import derived_name

from .access_policy import NOBODY, SINGLE_USER, Actor
from .cost_evidence import cost_line
from .failure_advice import is_model_load_failure
from .history_evidence import load_history
from .kgm_language_model import Refinement, configured_endpoint, refine
from .model_availability import backbone_error, first_loadable
from .model_registry import RegistryError, choices_for, load_registry
from .recommend import Recommendation, recommend
from .registry_evidence import registry_options

KGM_CONNECTION = "kgm"


def ask(experiments, experiment_id: str) -> Recommendation:
    """The recommended next experiment for a stored experiment (NotFoundError if it is gone)."""
    row = experiments.store.experiments.require(experiment_id)
    config = experiments.config_of(row)
    metrics = MetricsTail(experiments.run_dir(experiment_id) / METRICS_FILE).read_new()
    alternative = None
    if row.get("status") == "Failed" and is_model_load_failure(row.get("error")):
        alternative = _loadable_model(experiments.home, config)
    history, own_value = load_history(experiments, row)
    recommendation = recommend(config, metrics, status=row.get("status"), error=row.get("error"),
                               alternative_model=alternative, history=history, own_value=own_value,
                               backbones=registry_options(experiments.home, config))
    spent = experiments.resources(row)
    return recommendation.with_evidence(cost_line(config, recommendation, spent.runtime_s, spent.gpus,
                                                  spent.total_cost))


def language_model_configured(experiments) -> bool:
    return configured_endpoint(experiments.store) is not None


def ask_language_model(experiments, experiment_id: str, recommendation: Recommendation | dict,
                       actor: Actor = SINGLE_USER) -> Refinement | None:
    """The configured language model's phrasing and extra suggestion (checked), or None when none is set
    (or nobody is signed in to send it with their key)."""
    endpoint = configured_endpoint(experiments.store, actor.name) if actor != NOBODY else None
    if endpoint is None:
        return None
    if isinstance(recommendation, dict):
        recommendation = Recommendation(**recommendation)
    row = experiments.store.experiments.require(experiment_id)
    config = experiments.config_of(row)
    history, _ = load_history(experiments, row)
    refined = refine(endpoint, config, recommendation, history,
                     backbone_problem=lambda model_id: _backbone_problem(experiments.home, config, model_id))
    if refined.extra is not None:
        try:  # this Studio's rules too (datasets that exist, data files inside the data roots, names)
            experiments.validate(refined.extra.apply_to(config))
        except ConfigError as exc:
            refined.notes.append("The language model's extra suggestion was dropped: " + "; ".join(exc.errors))
            refined.extra = None
    return refined


def _backbone_problem(home, config, model_id: str) -> str | None:
    """Why ``model_id`` cannot be this run's backbone: not registered for its problem type, or not loadable."""
    try:
        offered = choices_for(load_registry(home), config.problem_type)
    except RegistryError as exc:
        return f"the model registry cannot be read ({exc})"
    if model_id not in offered:
        return f"{model_id} is not a registered model for {config.problem_type}"
    return backbone_error(model_id)


def _loadable_model(home, config) -> str | None:
    """A registered model of the run's problem type that this machine can load, other than its own."""
    try:
        candidates = choices_for(load_registry(home), config.problem_type)
    except RegistryError:
        return None
    return first_loadable([m for m in candidates if m != config.llm_backbone])


def overrides_yaml(recommendation: Recommendation) -> str:
    """The suggested changes as the YAML a user would type into the Advanced Configuration editor."""
    return yaml.safe_dump(recommendation.overrides, sort_keys=True, default_flow_style=False)


def explanation_markdown(recommendation: Recommendation) -> str:
    """The explanation and its evidence, as the dialog shows it and the new experiment keeps it."""
    lines = [recommendation.explanation]
    if recommendation.evidence:
        lines += ["", "**Evidence**"] + [f"- {line}" for line in recommendation.evidence]
    return "\n".join(lines)


def as_state(recommendation: Recommendation) -> dict:
    """A plain dict for a UI state, so Proceed launches exactly what the dialog showed."""
    return asdict(recommendation)


def proceed(experiments, experiment_id: str, recommendation: Recommendation | dict,
            actor: Actor = SINGLE_USER) -> dict:
    """Create and queue the suggested experiment, linked to ``experiment_id`` as a "kgm" connection.

    Raises ConfigError (from the service) if the suggestion does not validate, e.g. because the
    source experiment's dataset was deleted since.
    """
    if isinstance(recommendation, dict):
        recommendation = Recommendation(**recommendation)
    row = experiments.store.experiments.require(experiment_id)
    config = recommendation.apply_to(experiments.config_of(row))
    config = config.model_copy(update={"experiment_name": derived_name(row.get("name") or experiment_id, "-kgm")})
    explanation = f"**{recommendation.title}**\n\n{explanation_markdown(recommendation)}"
    return experiments.create(config, row.get("project_id"), source_id=experiment_id, connection=KGM_CONNECTION,
                              explanation=explanation, actor=actor)


__all__ = ["ask", "ask_language_model", "language_model_configured", "overrides_yaml", "explanation_markdown", "as_state", "proceed", "KGM_CONNECTION"]
