"""The study driver: one pass over every unfinished study, on the runner's watcher thread.

Each pass, for each study: settle the trials whose experiments ended (tell optuna the value,
or that the trial was pruned, failed or stopped); report the new intermediate validations of
running trials, read from metrics.jsonl as the engine writes it, and stop (as "Pruned") those
the pruner gives up on; then, while the budget allows, ask optuna for trials and queue them as
experiments. Everything it knows survives a restart: the optuna journal holds the trials and
their experiment ids, the run folders hold the metrics, so a new app simply carries on.
"""
from __future__ import annotations

import logging
import math
import time

from studio.config import ConfigError
from studio.runner.run_folder_reader import ACTIVE_STATUSES, MetricsTail, read_final_metrics
from studio.store.names import derived_name

from .access_policy import acting_for
from .study_space import distributions, trial_config
from .study_storage import open_study
from .studies import AUTOML_CONNECTION, COMPLETED, RUNNING, STOPPED, StudyService

log = logging.getLogger(__name__)
FAILURES_BEFORE_STOP = 3  # trials failing in a row: the search itself is broken (bad data, no memory)
PRUNED = "Pruned"


class StudyDriver:
    def __init__(self, studies: StudyService, supervisor):
        self.studies = studies
        self.store = studies.store
        self.supervisor = supervisor
        self._optuna: dict[str, object] = {}  # study id → its optuna Study, loaded once per process
        self._tails: dict[str, tuple[MetricsTail, int]] = {}  # experiment id → (reader, validations seen)

    def tick(self) -> None:
        rows = self.store.studies.list()
        for gone in set(self._optuna) - {row["id"] for row in rows}:  # deleted studies
            self._optuna.pop(gone, None)
        for row in rows:
            if row.get("status") == COMPLETED:
                continue
            with self.studies.lock:
                row = self.store.studies.get(row["id"])
                if row is not None:  # None: deleted since the list was read
                    self._advance_safely(row)

    def _advance_safely(self, row: dict) -> None:
        try:
            self._advance(row)
        except Exception as exc:  # one broken study must not hold up the others
            log.exception("advancing study %s failed", row["id"])
            self._optuna.pop(row["id"], None)
            if row.get("status") == RUNNING:  # said once on its page, not every tick in the log
                self.store.studies.update(row["id"], status=STOPPED, running_since=None,
                                          elapsed_s=self.studies.elapsed_s(row),
                                          error=f"the study stopped: {exc}. Resume it to try again.")

    # ------------------------------------------------------------------ one study
    def _advance(self, row: dict) -> None:
        study = self._study(row)
        settings = self.studies.settings_of(row)
        live = []
        for trial in study.get_trials(deepcopy=False, states=(_running_state(),)):
            if self._settle(row, study, trial):
                continue
            live.append(trial)
        row = self.store.studies.require(row["id"])
        if row["status"] == STOPPED:
            if row.get("stop_trials"):
                for trial in live:
                    self.supervisor.stop(trial.user_attrs["experiment_id"])
                self._update(row, stop_trials=False)
            return
        spent = self.studies.limit_reached(row) is not None  # wall-clock or GPU hours
        if spent:
            for trial in live:
                self.supervisor.stop(trial.user_attrs["experiment_id"])
        used = sum(1 for t in study.get_trials(deepcopy=False) if t.user_attrs.get("outcome") != "stopped")
        while not spent and len(live) < settings.concurrent_trials and \
                (settings.max_trials is None or used < settings.max_trials) and row["status"] == RUNNING:
            trial = self._launch(row, study)
            used += 1
            if trial is not None:
                live.append(trial)
            row = self.store.studies.require(row["id"])
        if not live and (spent or (settings.max_trials is not None and used >= settings.max_trials)):
            self._update(row, status=COMPLETED, elapsed_s=self.studies.elapsed_s(row), running_since=None)

    def _settle(self, row: dict, study, trial) -> bool:
        """Report what a running trial's experiment wrote; True when the trial is now finished."""
        import optuna

        experiment_id = trial.user_attrs.get("experiment_id")
        experiment = self.store.experiments.get(experiment_id) if experiment_id else None
        if experiment is None:  # deleted, or the app stopped between ask and create
            return self._tell(row, study, trial, "failed")
        status = experiment.get("status")
        # FrozenTrial keeps its storage id private; a Trial handle needs it to report and prune.
        handle = optuna.trial.Trial(study, trial._trial_id)
        reported = self._report(row, experiment_id, handle, trial) if status != "Queued" else 0
        if status in ACTIVE_STATUSES:
            if reported and trial.user_attrs.get("pruned_at") is None and handle.should_prune():
                step = reported
                handle.set_user_attr("pruned_at", step)
                self.supervisor.stop(experiment_id, end_as=(PRUNED, f"pruned by its study at validation {step}"))
            return False
        if status == "Completed":
            final = experiment.get("final_metrics") or read_final_metrics(self.studies.experiments.run_dir(experiment_id))
            value = (final or {}).get(row["objective"])
            if isinstance(value, (int, float)) and math.isfinite(value):
                return self._tell(row, study, trial, "completed", float(value))
            return self._tell(row, study, trial, "failed")
        if status == PRUNED or (status == "Stopped" and trial.user_attrs.get("pruned_at") is not None):
            if status != PRUNED:  # pruned while the app was down: the stop reached it, the label did not
                self.store.experiments.update(experiment_id, status=PRUNED, stage="pruned by its study")
            return self._tell(row, study, trial, "pruned")
        if status == "Stopped":
            return self._tell(row, study, trial, "stopped")
        if status == "Failed":
            return self._tell(row, study, trial, "failed", error=experiment.get("error"))
        return False  # Queued (or a status this driver does not know yet): wait

    def _report(self, row: dict, experiment_id: str, handle, trial) -> int:
        """Report each new validation of the objective as the n-th validation of the trial; returns
        the number of the last one reported now (0 when nothing was new).

        The n-th validation of every trial is at the same fraction of an epoch (evaluation_epochs
        is not searched), whatever its batch size: that is what the pruner compares.
        """
        tail, seen = self._tails.get(experiment_id) or (
            MetricsTail(self.studies.experiments.run_dir(experiment_id) / "metrics.jsonl"), 0)
        last = 0
        for record in tail.read_new():
            if record.get("split") != "validation" or record.get("name") != row["objective"]:
                continue
            seen += 1
            value = record.get("value")
            if seen not in trial.intermediate_values and isinstance(value, (int, float)):
                handle.report(float(value), seen)
                last = seen
        self._tails[experiment_id] = (tail, seen)
        return last

    def _tell(self, row: dict, study, trial, outcome: str, value: float | None = None, error: str | None = None) -> bool:
        import optuna

        states = {"completed": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED}
        row = self.store.studies.require(row["id"])  # several trials may settle in one pass
        optuna.trial.Trial(study, trial._trial_id).set_user_attr("outcome", outcome)
        study.tell(trial.number, value if outcome == "completed" else None,
                   state=states.get(outcome, optuna.trial.TrialState.FAIL), skip_if_finished=True)
        self._tails.pop(trial.user_attrs.get("experiment_id"), None)
        failures = (int(row.get("failures_in_a_row") or 0) + 1) if outcome == "failed" else 0
        changes = self._summary(row, study)
        changes["failures_in_a_row"] = failures
        if failures >= FAILURES_BEFORE_STOP and row.get("status") == RUNNING:
            changes.update(status=STOPPED, elapsed_s=self.studies.elapsed_s(row), running_since=None,
                           error=f"{failures} trials in a row failed" + (f"; the last one: {error}" if error else "")
                           + ". Fix the cause, then resume the study.")
        self._update(row, **changes)
        return True

    def _launch(self, row: dict, study):
        base = self.studies.base_config(row)
        trial = study.ask(distributions(base, self.studies.settings_of(row).search))
        name = derived_name(row["name"], f"-trial-{trial.number}")
        try:
            config = trial_config(base, trial.params, name)
            experiment = self.studies.experiments.create(config, row.get("project_id"), source_id=row.get("source_id"),
                                                         connection=AUTOML_CONNECTION, actor=acting_for(row))
        except Exception as exc:  # a combination the schema refuses, a full disk: this trial fails
            message = "; ".join(exc.errors) if isinstance(exc, ConfigError) else str(exc)
            log.warning("study %s: trial %s could not be created: %s", row["id"], trial.number, message)
            trial.set_user_attr("error", message[:500])
            self._tell(row, study, trial, "failed", error=message)
            return None
        trial.set_user_attr("experiment_id", experiment["id"])
        self.store.experiments.update(experiment["id"], study_id=row["id"], trial_number=trial.number)
        return trial

    # ------------------------------------------------------------------ bookkeeping
    def _study(self, row: dict):
        study = self._optuna.get(row["id"])
        if study is None:
            study = open_study(row["id"], self.studies.home, self.studies.settings_of(row), row["direction"])
            self._optuna[row["id"]] = study
        return study

    def _summary(self, row: dict, study) -> dict:
        import optuna

        trials = study.get_trials(deepcopy=False)
        completed = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        best = (max if row["direction"] == "maximize" else min)(completed, key=lambda t: t.value) if completed else None
        return {"trials_done": sum(1 for t in trials if t.state.is_finished()),
                "trials_pruned": sum(1 for t in trials if t.state == optuna.trial.TrialState.PRUNED),
                "best_value": best.value if best else None,
                "best_experiment_id": best.user_attrs.get("experiment_id") if best else None}

    def _update(self, row: dict, **changes) -> None:
        if any(row.get(key) != value for key, value in changes.items()):
            self.store.studies.update(row["id"], updated=time.time(), **changes)


def _running_state():
    import optuna

    return optuna.trial.TrialState.RUNNING
