"""AutoML from an experiment: launch N linked trials proposed from the study's finished runs.

A study is an experiment plus every experiment linked below it with the "automl" connection
(trials launched from a trial stay in the same study). Its finished runs, with their final
objective metric, are the history ``automl.propose`` learns from; the new trials are created
and queued through the ExperimentService, linked to the experiment AutoML was launched from.
"""
from __future__ import annotations

import math

from studio.runner.run_folder_reader import read_final_metrics
from studio.store.names import derived_name

from .automl import Trial, objective_metric, propose

AUTOML_CONNECTION = "automl"
MAX_TRIALS = 16


def study_root(experiments, experiment_id: str) -> dict:
    """The experiment the study started from: walk up while the link is an AutoML one."""
    row = experiments.store.experiments.require(experiment_id)
    seen = {row["id"]}
    while row.get("connection") == AUTOML_CONNECTION and row.get("connected_to") not in (None, *seen):
        parent = experiments.store.experiments.get(row["connected_to"])
        if parent is None:
            break
        seen.add(parent["id"])
        row = parent
    return row


def study_members(experiments, experiment_id: str) -> list[dict]:
    """The root of the study and every AutoML trial below it (at any depth), oldest first."""
    root = study_root(experiments, experiment_id)
    members, frontier = [root], [root["id"]]
    known = {root["id"]}
    while frontier:
        for child in experiments.store.experiments.find(connected_to=frontier.pop()):
            if child.get("connection") == AUTOML_CONNECTION and child["id"] not in known:
                known.add(child["id"])
                members.append(child)
                frontier.append(child["id"])
    return sorted(members, key=lambda r: r.get("created") or "")


def finished_trials(experiments, experiment_id: str, metric: str) -> list[Trial]:
    """Completed members of the study with their value of ``metric`` (full training section as params)."""
    trials = []
    for row in study_members(experiments, experiment_id):
        if row.get("status") != "Completed":
            continue
        final = row.get("final_metrics") or read_final_metrics(experiments.run_dir(row["id"])) or {}
        value = final.get(metric)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        try:
            config = experiments.config_of(row)
        except Exception:  # a row whose stored YAML no longer validates teaches nothing
            continue
        # The full training section, not the overrides: a default value is still a chosen value.
        trials.append(Trial({"training": config.training.model_dump(mode="json")}, float(value)))
    return trials


def launch(experiments, experiment_id: str, count: int = 4) -> list[dict]:
    """Create and queue ``count`` AutoML trials linked to ``experiment_id``; returns their rows."""
    if not 1 <= int(count) <= MAX_TRIALS:
        raise ValueError(f"number of trials must be between 1 and {MAX_TRIALS}, got {count}")
    row = experiments.store.experiments.require(experiment_id)
    base = experiments.config_of(row)
    history = finished_trials(experiments, experiment_id, objective_metric(base))
    # A new seed per batch: the same history must not propose the same trials twice.
    seed = len(study_members(experiments, experiment_id))
    root = study_root(experiments, experiment_id)
    base_name = root.get("name") or root["id"]
    created = []
    for number, config in enumerate(propose(base, history, int(count), seed=seed), start=seed):
        config = config.model_copy(update={"experiment_name": derived_name(base_name, f"-automl-{number}")})
        created.append(experiments.create(config, row.get("project_id"), source_id=experiment_id,
                                          connection=AUTOML_CONNECTION))
    return created


__all__ = ["launch", "finished_trials", "study_members", "study_root", "AUTOML_CONNECTION", "MAX_TRIALS"]
