"""AutoML studies: what a user may create, stop, resume and read; the trials run as experiments.

A study is a row in the ``studies`` table (base config, settings, status, a summary) plus its
optuna journal under ``STUDIO_HOME/studies/<id>/``. Its trials are ordinary experiments created
through the ExperimentService (validated, stored, queued one way), connected to the study's
source experiment. The StudyDriver advances every study on the runner's watcher thread; the
methods here only write the study row, so a request never waits on a run.
"""
from __future__ import annotations

import logging
import math
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from studio.config import ConfigError, ExperimentConfig, overrides_yaml
from studio.config.problem_types import DEFAULT_METRICS
from studio.config.study import StudySettings, study_settings
from studio.runner.gpu_inventory import runs_get_gpus
from studio.runner.run_folder_reader import TERMINAL_STATUSES
from studio.store.names import clean_name, derived_name
from studio.store.records import new_id

from .access_policy import SINGLE_USER, Actor, check_change, check_change_all, check_create, owner_fields
from .model_registry import load_registry
from .automl import default_direction, objective_metric
from .study_space import distributions, searched_labels
from .study_storage import journal_path, open_study

log = logging.getLogger(__name__)
RUNNING, STOPPED, COMPLETED = "Running", "Stopped", "Completed"
AUTOML_CONNECTION = "automl"


class StudyError(ValueError):
    """A study request that breaks a rule (stopping a finished study, resuming a spent one)."""


@dataclass(frozen=True)
class TrialRow:
    number: int
    experiment_id: str | None
    experiment_name: str
    status: str
    params: dict
    value: float | None
    runtime_s: float


@dataclass(frozen=True)
class Deleted:
    name: str
    trials_deleted: int
    trials_kept: int


class StudyService:
    def __init__(self, store, experiments, home: Path):
        self.store = store
        self.experiments = experiments
        self.home = Path(home)
        # Held by the driver while it advances one study and by delete(): a study being deleted
        # is never advanced half way (no trial launched, no journal written after it is gone).
        self.lock = threading.RLock()

    # ------------------------------------------------------------------ creating
    def create(self, base: ExperimentConfig | str | dict, settings: StudySettings | dict | None = None, *,
               project_id: str | None = None, source_id: str | None = None, name: str | None = None,
               actor: Actor = SINGLE_USER) -> dict:
        """Validate the base experiment and the settings, store the study (owned by ``actor``, as its
        trials will be) and its optuna journal."""
        check_create(actor, "a study")
        config = self.experiments.validate(base)
        chosen = settings if isinstance(settings, StudySettings) else study_settings(settings)
        errors = self._setting_errors(config, chosen)
        if errors:
            raise ConfigError(errors)
        source = self.store.experiments.require(source_id) if source_id else None
        objective = chosen.objective_metric or objective_metric(config)
        direction = chosen.direction or default_direction(objective)
        study_id = new_id()
        title = clean_name(name or config.experiment_name or (source or {}).get("name") or f"study-{study_id[:6]}",
                           "study", StudyError)
        row = {"id": study_id, "name": title, "project_id": project_id or (source or {}).get("project_id"),
               "source_id": source_id, "base_config": overrides_yaml(config.model_copy(update={"experiment_name": ""})),
               "problem_type": config.problem_type, "settings": chosen.model_dump(mode="json"),
               "objective": objective, "direction": direction, "status": RUNNING, "elapsed_s": 0.0,
               "running_since": time.time(), "trials_done": 0, "trials_pruned": 0, "best_value": None,
               "best_experiment_id": None, "error": None, **owner_fields(actor)}
        try:
            open_study(study_id, self.home, chosen, direction, create=True)
            return self.store.studies.add(row)
        except BaseException:
            shutil.rmtree(journal_path(study_id, self.home).parent, ignore_errors=True)
            raise

    def create_from_experiment(self, experiment_id: str, settings: StudySettings | dict | None = None,
                               actor: Actor = SINGLE_USER) -> dict:
        """A study over the settings of a finished experiment, its trials connected to it."""
        row = self.store.experiments.require(experiment_id)
        config = self.experiments.config_of(row)
        return self.create(config.model_copy(update={"experiment_name": ""}), settings,
                           project_id=row.get("project_id"), source_id=experiment_id,
                           name=derived_name(row.get("name") or experiment_id, "-study"), actor=actor)

    def _setting_errors(self, config: ExperimentConfig, chosen: StudySettings) -> list[str]:
        errors = []
        computed = config.prediction.metrics or DEFAULT_METRICS.get(config.problem_type) or []
        if chosen.objective_metric and chosen.objective_metric not in ["loss", *computed]:
            errors.append(f"objective_metric: this experiment computes {', '.join(['loss', *computed])}; "
                          f"{chosen.objective_metric!r} is not one of them")
        known = {model.id for model in load_registry(self.home)}
        for backbone in chosen.search.backbones:
            if backbone not in known:
                errors.append(f"search.backbones: {backbone!r} is not in the model registry")
        supervisor = self.experiments.supervisor
        if chosen.gpu_hours_limit is not None and chosen.max_trials is None and chosen.time_limit_minutes is None \
                and not runs_get_gpus(supervisor.executor(), supervisor.gpus):
            errors.append("gpu_hours_limit: this machine has no GPU, so its trials use no GPU hours and this limit "
                          "alone would never end the study; add a number of trials or a time limit")
        if not distributions(config, chosen.search):
            errors.append("search: nothing to search; give at least one setting a range or a list of values")
        return errors

    # ------------------------------------------------------------------ run control
    def stop(self, study_id: str, actor: Actor = SINGLE_USER) -> dict:
        """No new trials; the driver stops the running ones on its next tick."""
        row = self.require(study_id)
        check_change(actor, row, "stop", "study")
        if row["status"] != RUNNING:
            raise StudyError(f"study {row['name']!r} is {row['status']}; only a running study can be stopped")
        return self.store.studies.update(study_id, status=STOPPED, elapsed_s=self.elapsed_s(row),
                                         running_since=None, stop_trials=True)

    def resume(self, study_id: str, actor: Actor = SINGLE_USER) -> dict:
        row = self.require(study_id)
        check_change(actor, row, "resume", "study")
        if row["status"] == RUNNING:
            raise StudyError(f"study {row['name']!r} is already running")
        settings = self.settings_of(row)
        if settings.max_trials is not None and self._budget_used(row) >= settings.max_trials:
            raise StudyError(f"study {row['name']!r} has run all its {settings.max_trials} trials; "
                             "create a new study (or copy this one's settings) to search further")
        spent = self.limit_reached(row)
        if spent:
            raise StudyError(f"study {row['name']!r} has used {spent}")
        return self.store.studies.update(study_id, status=RUNNING, running_since=time.time(), error=None,
                                         stop_trials=False, failures_in_a_row=0)

    def delete(self, study_id: str, delete_trials: bool, actor: Actor = SINGLE_USER) -> Deleted:
        """Delete the study row and its optuna journal; its trial experiments too when
        ``delete_trials``, else they stay as ordinary experiments. A running study's live trials
        are stopped (deleted ones are stopped by the runner before their folder goes).

        Nothing changes when ``actor`` may not delete the study, or one of the trials to delete.
        """
        with self.lock:
            row = self.require(study_id)
            check_change(actor, row, "delete", "study")
            trials = self.trial_experiments(study_id)
            if delete_trials:
                check_change_all(actor, trials, "delete", "experiment")
            self.store.studies.delete(study_id)  # the one store write: from here the driver skips it
        if delete_trials:
            self.experiments.delete([t["id"] for t in trials], actor)
        else:
            for trial in trials:
                if trial.get("status") not in TERMINAL_STATUSES:
                    self.experiments.supervisor.stop(trial["id"])
        shutil.rmtree(journal_path(study_id, self.home).parent, ignore_errors=True)  # a journal: kilobytes
        log.info("study %s (%s) deleted, %d trial experiments %s", study_id, row["name"], len(trials),
                 "deleted" if delete_trials else "kept")
        return Deleted(row["name"], len(trials) if delete_trials else 0, 0 if delete_trials else len(trials))

    def limit_reached(self, row: dict) -> str | None:
        """The wall-clock or GPU-hour limit the study has used up, in words (None: neither)."""
        settings = self.settings_of(row)
        if settings.time_limit_minutes is not None and self.elapsed_s(row) >= settings.time_limit_minutes * 60:
            return f"its {settings.time_limit_minutes:g}-minute time limit"
        if settings.gpu_hours_limit is not None and self.gpu_hours_used(row["id"]) >= settings.gpu_hours_limit:
            return f"its {settings.gpu_hours_limit:g} GPU-hour limit"
        return None

    def gpu_hours_used(self, study_id: str) -> float:
        """Sum over its trials (running ones so far) of runtime × the GPUs the trial holds: a trial
        on a CPU-only machine holds none, so there it is always 0."""
        seconds = 0.0
        for trial in self.trial_experiments(study_id):
            used = self.experiments.resources(trial)
            seconds += used.gpus * used.runtime_s
        return seconds / 3600.0

    def _budget_used(self, row: dict) -> int:
        return sum(1 for trial in self.optuna_study(row["id"]).get_trials(deepcopy=False)
                   if trial.user_attrs.get("outcome") != "stopped")

    # ------------------------------------------------------------------ reading
    def get(self, study_id: str) -> dict | None:
        return self.store.studies.get(study_id)

    def require(self, study_id: str) -> dict:
        row = self.store.studies.get(study_id)
        if row is None:
            raise StudyError(f"there is no study {study_id!r}")
        return row

    def list(self, project_id: str | None = None) -> list[dict]:
        return self.store.studies.list(project_id)

    def trial_experiments(self, study_id: str) -> list[dict]:
        """The experiments this study created (what deleting it may delete too)."""
        return self.store.experiments.find(study_id=study_id)

    def settings_of(self, row: dict) -> StudySettings:
        return StudySettings.model_validate(row["settings"])

    def base_config(self, row: dict) -> ExperimentConfig:
        return self.experiments.config_of({"config": row["base_config"]})

    def default_objective(self, config: ExperimentConfig) -> str:
        return objective_metric(config)

    def searched(self, row: dict) -> list[str]:
        return searched_labels(self.base_config(row), self.settings_of(row).search)

    def elapsed_s(self, row: dict) -> float:
        since = row.get("running_since")
        return float(row.get("elapsed_s") or 0.0) + (max(0.0, time.time() - since) if since else 0.0)

    def optuna_study(self, study_id: str):
        """A fresh read of the study's optuna journal (charts and tables; the driver keeps its own)."""
        row = self.require(study_id)
        return open_study(study_id, self.home, self.settings_of(row), row["direction"])

    def trials(self, study_id: str) -> list[TrialRow]:
        """Every trial, newest last, with its experiment's status and runtime."""
        rows = []
        for trial in self.optuna_study(study_id).get_trials(deepcopy=False):
            experiment_id = trial.user_attrs.get("experiment_id")
            experiment = self.store.experiments.get(experiment_id) if experiment_id else None
            value = trial.value if trial.value is not None and math.isfinite(trial.value) else None
            rows.append(TrialRow(trial.number, experiment_id, (experiment or {}).get("name", "(not created)"),
                                 (experiment or {}).get("status") or trial.user_attrs.get("outcome") or trial.state.name,
                                 dict(trial.params), value, self.experiments.runtime_s(experiment) if experiment else 0.0))
        return rows

    def best(self, study_id: str) -> TrialRow | None:
        """The best completed trial (a pruned trial's value is a partial one, so it never wins)."""
        completed = [t for t in self.trials(study_id) if t.status == "Completed" and t.value is not None]
        if not completed:
            return None
        maximize = self.require(study_id)["direction"] == "maximize"
        return (max if maximize else min)(completed, key=lambda t: t.value)
