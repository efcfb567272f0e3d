"""StudyService and StudyDriver on a real store, ExperimentService, runner queue and optuna journal.

The runner thread is not started (nothing trains): a test ends a trial the way the runner does,
by writing its metrics.jsonl and its row, and calls the driver's tick itself.
"""
from __future__ import annotations

import json

import pytest

from studio.config import ConfigError
from studio.runner.supervisor import Supervisor
from studio.services.experiments import ExperimentService
from studio.services.studies import StudyError, StudyService
from studio.services.study_driver import StudyDriver
from studio.services.study_storage import journal_path
from studio.store import Store
from studio.store.database import forget_database

BASE = {"experiment_name": "base", "prediction": {"metrics": ["BLEU"]}}


def _open(home):
    store = Store(home)
    experiments = ExperimentService(store, Supervisor(store, home, gpus=[]), home)
    studies = StudyService(store, experiments, home)
    return studies, StudyDriver(studies, experiments.supervisor)


@pytest.fixture()
def opened(studio_home):
    yield _open(studio_home)
    forget_database(studio_home / "db.json")


@pytest.fixture()
def base(opened):
    studies, _ = opened
    dataset = studies.store.datasets.add({"name": "toy", "rows": 10})
    return {**BASE, "dataset": {"train_dataset_id": dataset["id"]}}


def _trial_rows(studies, study_id):
    return [studies.store.experiments.get(t.experiment_id) for t in studies.trials(study_id)]


def _end(studies, row, status="Completed", bleu=None, validations=()):
    """What the runner leaves when a trial's run ends: its metrics, final metrics and row."""
    run_dir = studies.experiments.run_dir(row["id"])
    with open(run_dir / "metrics.jsonl", "a") as handle:
        for step, value in enumerate(validations, start=1):
            handle.write(json.dumps({"step": step, "epoch": step / 4, "time": 0.0, "split": "validation",
                                     "name": "BLEU", "value": value}) + "\n")
    if row["id"] in studies.experiments.supervisor.queued_ids():
        studies.experiments.supervisor.stop(row["id"])  # off the queue, as a finished run would be
    final = {"BLEU": bleu, "loss": 1.0} if bleu is not None else None
    return studies.store.experiments.update(row["id"], status=status, final_metrics=final)


def test_a_study_defaults_to_the_first_metric_and_stores_its_journal(opened, base):
    studies, _ = opened
    study = studies.create(base)
    assert (study["objective"], study["direction"], study["status"]) == ("BLEU", "maximize", "Running")
    assert study["settings"]["max_trials"] == 8 and study["settings"]["pruner"] == "median"
    assert journal_path(study["id"], studies.home).is_file()
    assert "learning rate" in studies.searched(study) and "LoRA rank" in studies.searched(study)
    assert studies.list() == [studies.get(study["id"])]


@pytest.mark.parametrize("settings, named", [
    ({"search": {"learning_rate": [0.001, 0.0001]}}, "search.learning_rate: give two numbers, low then high"),
    ({"search": {"lora_dropout": [0.0, 1.5]}}, "search.lora_dropout: 1.5 is not a valid lora_dropout"),
    ({"search": {"batch_size": [0, 8]}}, "search.batch_size: 0 is not a valid batch_size"),
    ({"search": {"backbones": ["no/such-model"]}}, "search.backbones: 'no/such-model' is not in the model registry"),
    ({"max_trials": None}, "max_trials: a study needs a budget"),
    ({"concurrent_trials": 0}, "concurrent_trials: Input should be greater than or equal to 1"),
    ({"objective_metric": "AUC"}, "objective_metric: this experiment computes loss, BLEU"),
    ({"tirals": 3}, "tirals: unknown study setting"),
    ({"search": {"learning_rate": [], "epochs": [], "lora_rank": [], "lora_dropout": [], "warmup_epochs": []}},
     "search: nothing to search"),
])
def test_bad_settings_name_the_field_and_store_nothing(opened, base, settings, named):
    studies, _ = opened
    with pytest.raises(ConfigError) as raised:
        studies.create(base, settings)
    assert any(message.startswith(named) for message in raised.value.errors), raised.value.errors
    assert studies.list() == [] and not (studies.home / "studies").exists() or \
        not any((studies.home / "studies").iterdir())


def test_the_driver_queues_trials_at_the_concurrency_and_completes_the_budget(opened, base):
    studies, driver = opened
    study = studies.create(base, {"max_trials": 3, "concurrent_trials": 2,
                                  "search": {"learning_rate": [1e-5, 1e-3], "lora_rank": [4, 8]}})
    driver.tick()
    first = _trial_rows(studies, study["id"])
    assert [r["status"] for r in first] == ["Queued", "Queued"]
    assert [r["name"] for r in first] == ["base-trial-0", "base-trial-1"]
    for row in first:
        assert row["study_id"] == study["id"] and row["id"] in studies.experiments.supervisor.queued_ids()
        config = studies.experiments.config_of(row)
        assert 1e-5 <= config.training.learning_rate <= 1e-3 and config.training.lora_rank in (4, 8)
    driver.tick()
    assert len(studies.trials(study["id"])) == 2  # both still live: nothing more is asked for

    _end(studies, first[0], bleu=10.0)
    driver.tick()
    assert len(studies.trials(study["id"])) == 3 and studies.get(study["id"])["trials_done"] == 1
    _end(studies, first[1], bleu=30.0)
    driver.tick()
    assert len(studies.trials(study["id"])) == 3  # the budget is 3 trials
    third = _trial_rows(studies, study["id"])[2]
    _end(studies, third, bleu=20.0)
    driver.tick()
    row = studies.get(study["id"])
    assert row["status"] == "Completed" and row["trials_done"] == 3
    assert row["best_value"] == 30.0 and row["best_experiment_id"] == first[1]["id"]
    assert studies.best(study["id"]).experiment_id == first[1]["id"]  # BLEU: higher is better
    with pytest.raises(StudyError, match="has run all its 3 trials"):
        studies.resume(study["id"])


def test_a_trial_worse_than_the_median_is_pruned_and_labelled_pruned(opened, base):
    studies, driver = opened
    study = studies.create(base, {"max_trials": 3, "concurrent_trials": 1, "pruner_startup_trials": 1})
    driver.tick()
    good = _trial_rows(studies, study["id"])[0]
    _end(studies, good, bleu=30.0, validations=[10.0, 20.0, 30.0])
    driver.tick()
    bad = _trial_rows(studies, study["id"])[1]
    studies.experiments.supervisor.stop(bad["id"])  # it "starts": off the queue
    studies.store.experiments.update(bad["id"], status="Training")
    _end(studies, bad, status="Training", validations=[1.0])  # its first validation, far below the median
    driver.tick()
    assert studies.optuna_study(study["id"]).trials[1].user_attrs["pruned_at"] == 1
    # The runner ends it as Pruned (tests/runner/test_study_real_engine.py); one that ended while the
    # app was down reads Stopped, which the driver relabels.
    studies.store.experiments.update(bad["id"], status="Stopped")
    driver.tick()
    trials = studies.trials(study["id"])
    assert studies.store.experiments.get(bad["id"])["status"] == "Pruned"
    assert trials[1].status == "Pruned" and trials[1].value == 1.0  # its last intermediate value
    assert studies.get(study["id"])["trials_pruned"] == 1
    assert studies.best(study["id"]).experiment_id == good["id"]  # a pruned trial never wins


def test_a_new_app_on_the_same_home_continues_the_study(studio_home, base):
    studies, driver = _open(studio_home)
    study = studies.create(base, {"max_trials": 4, "concurrent_trials": 2})
    driver.tick()
    first = _trial_rows(studies, study["id"])
    _end(studies, first[0], bleu=5.0)
    forget_database(studio_home / "db.json")  # the app restarts

    studies, driver = _open(studio_home)
    driver.tick()
    trials = studies.trials(study["id"])
    assert [t.number for t in trials] == [0, 1, 2] and trials[0].value == 5.0
    assert trials[1].experiment_id == first[1]["id"]  # the live trial is the same experiment, reattached
    params = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(params)) == 3  # the reseeded sampler does not propose the first trials again
    forget_database(studio_home / "db.json")


def test_stop_study_stops_its_trials_and_resume_queues_new_ones(opened, base):
    studies, driver = opened
    study = studies.create(base, {"max_trials": 4, "concurrent_trials": 2})
    driver.tick()
    studies.stop(study["id"])
    with pytest.raises(StudyError, match="only a running study can be stopped"):
        studies.stop(study["id"])
    driver.tick()
    assert [r["status"] for r in _trial_rows(studies, study["id"])] == ["Stopped", "Stopped"]
    driver.tick()
    assert len(studies.trials(study["id"])) == 2  # a stopped study asks for nothing
    studies.resume(study["id"])
    driver.tick()
    statuses = [r["status"] for r in _trial_rows(studies, study["id"])]
    # Stopped trials do not use the budget: two new ones run.
    assert statuses == ["Stopped", "Stopped", "Queued", "Queued"]


def test_three_failed_trials_in_a_row_stop_the_study_with_the_reason(opened, base):
    studies, driver = opened
    study = studies.create(base, {"max_trials": 10, "concurrent_trials": 3})
    driver.tick()
    for row in _trial_rows(studies, study["id"]):
        studies.experiments.supervisor.stop(row["id"])
        studies.store.experiments.update(row["id"], status="Failed", error="out of memory")
    driver.tick()
    row = studies.get(study["id"])
    assert row["status"] == "Stopped" and "3 trials in a row failed; the last one: out of memory" in row["error"]


def test_ask_kgm_on_a_pruned_trial_says_it_was_pruned(opened, base):
    from studio.services import kgm

    studies, driver = opened
    study = studies.create(base, {"max_trials": 1, "concurrent_trials": 1})
    driver.tick()
    trial = _trial_rows(studies, study["id"])[0]
    _end(studies, trial, status="Pruned", validations=[3.0])
    advice = kgm.ask(studies.experiments, trial["id"])
    assert any("pruned by its AutoML study" in line for line in advice.evidence)


def test_the_study_form_reads_its_own_text_back_and_names_bad_entries():
    from studio.config.study import StudySettings, form_fields, form_text, settings_from_form

    defaults = StudySettings().model_dump(mode="json")
    text = {path: form_text(path, defaults[path] if "." not in path else defaults["search"][path[7:]])
            for path, _ in form_fields()}
    assert settings_from_form(text) == StudySettings()
    no_cap = settings_from_form({**text, "max_trials": "", "time_limit_minutes": "30"})
    assert (no_cap.max_trials, no_cap.time_limit_minutes) == (None, 30.0)
    with pytest.raises(ConfigError, match=r"search\.epochs\.1: Input should be a valid number"):
        settings_from_form({**text, "search.epochs": "1, two"})


def test_a_study_whose_journal_is_unreadable_stops_with_the_reason(opened, base):
    studies, driver = opened
    study = studies.create(base)
    journal_path(study["id"], studies.home).write_text("this is not a journal\n")
    driver.tick()
    row = studies.get(study["id"])
    assert row["status"] == "Stopped" and row["error"].startswith("the study stopped:")


def _trial_run_dirs(studies, rows):
    return [studies.experiments.run_dir(r["id"]) for r in rows]


def test_deleting_a_running_study_keeping_its_trials_stops_them_and_removes_the_journal(opened, base):
    studies, driver = opened
    study = studies.create(base, {"max_trials": 4, "concurrent_trials": 2})
    driver.tick()
    trials = _trial_rows(studies, study["id"])
    assert [r["status"] for r in trials] == ["Queued", "Queued"]
    assert sorted(r["id"] for r in studies.trial_experiments(study["id"])) == sorted(r["id"] for r in trials)

    deleted = studies.delete(study["id"], delete_trials=False)
    assert (deleted.name, deleted.trials_deleted, deleted.trials_kept) == ("base", 0, 2)
    assert studies.get(study["id"]) is None and studies.list() == []
    assert not journal_path(study["id"], studies.home).parent.exists()
    kept = [studies.store.experiments.get(r["id"]) for r in trials]
    assert [r["status"] for r in kept] == ["Stopped", "Stopped"]  # stopped through the supervisor
    assert studies.experiments.supervisor.queued_ids() == []
    driver.tick()  # the driver forgets it: no new trial, no error
    assert len(studies.store.experiments.list()) == 2
    with pytest.raises(StudyError, match="there is no study"):
        studies.delete(study["id"], delete_trials=False)


def test_deleting_a_study_with_its_trials_removes_their_rows_and_run_folders(opened, base):
    studies, driver = opened
    study = studies.create(base, {"max_trials": 2, "concurrent_trials": 2})
    driver.tick()
    trials = _trial_rows(studies, study["id"])
    _end(studies, trials[0], bleu=12.0)
    driver.tick()
    source = studies.store.experiments.add({"name": "not a trial"})

    deleted = studies.delete(study["id"], delete_trials=True)
    assert (deleted.trials_deleted, deleted.trials_kept) == (2, 0)
    assert [r["id"] for r in studies.store.experiments.list()] == [source["id"]]
    assert not any(d.exists() for d in _trial_run_dirs(studies, trials))
    assert not journal_path(study["id"], studies.home).parent.exists()


def test_a_member_deletes_only_their_own_study_and_an_admin_any(opened, base):
    from studio.auth.users import ADMIN, MEMBER
    from studio.services.access_policy import AccessDenied, Actor

    studies, driver = opened
    alice, bob, admin = Actor("alice", MEMBER), Actor("bob", MEMBER), Actor("root", ADMIN)
    study = studies.create(base, {"max_trials": 2, "concurrent_trials": 1}, actor=alice)
    driver.tick()
    trial = _trial_rows(studies, study["id"])[0]
    assert trial["owner"] == "alice"
    with pytest.raises(AccessDenied, match="only its owner \\(alice\\) or an admin"):
        studies.delete(study["id"], delete_trials=True, actor=bob)
    assert studies.get(study["id"]) is not None and studies.store.experiments.get(trial["id"]) is not None
    assert journal_path(study["id"], studies.home).is_file()
    # A trial someone else owns (an admin reassigned it) is not deleted by alice, and neither is her study.
    studies.store.experiments.update(trial["id"], owner="bob")
    with pytest.raises(AccessDenied, match="delete 1 of these experiments|cannot delete experiment"):
        studies.delete(study["id"], delete_trials=True, actor=alice)
    assert studies.get(study["id"]) is not None
    studies.delete(study["id"], delete_trials=True, actor=admin)
    assert studies.get(study["id"]) is None and studies.store.experiments.get(trial["id"]) is None


def test_a_study_delete_that_cannot_be_written_changes_nothing(opened, base, monkeypatch):
    import errno

    from studio.store import storage as storage_module
    from studio.store.errors import StoreError

    studies, driver = opened
    study = studies.create(base, {"max_trials": 2, "concurrent_trials": 2})
    driver.tick()
    trials = _trial_rows(studies, study["id"])

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage_module, "write_atomic", full_disk)
    with pytest.raises(StoreError, match="No space left on device"):
        studies.delete(study["id"], delete_trials=True)
    monkeypatch.undo()
    assert studies.get(study["id"])["status"] == "Running"
    assert [r["status"] for r in _trial_rows(studies, study["id"])] == ["Queued", "Queued"]
    assert sorted(studies.experiments.supervisor.queued_ids()) == sorted(r["id"] for r in trials)
    assert journal_path(study["id"], studies.home).is_file()


def _ran(studies, row, gpus: list[str], runtime_s: float, status="Completed", bleu=10.0):
    """A trial's row as the runner leaves it: the GPUs the launcher gave it, its runtime when it ended."""
    if row["id"] in studies.experiments.supervisor.queued_ids():
        studies.experiments.supervisor.stop(row["id"])  # launched: off the queue
    studies.store.experiments.update(row["id"], gpus=gpus, num_gpus=len(gpus), runtime_s=runtime_s)
    return _end(studies, row, status=status, bleu=bleu)


def test_a_spent_gpu_hour_budget_stops_the_trials_and_completes_the_study(opened, base):
    from datetime import datetime, timedelta, timezone

    studies, driver = opened
    study = studies.create(base, {"max_trials": 10, "concurrent_trials": 2, "gpu_hours_limit": 1.0})
    driver.tick()
    first, second = _trial_rows(studies, study["id"])
    _ran(studies, first, ["0", "1"], runtime_s=900.0)  # 2 GPUs × 15 min = 0.5 GPU hours
    # The second one is still training on one GPU, started 20 minutes ago: 1/3 GPU hour so far.
    studies.experiments.supervisor.stop(second["id"])
    started = (datetime.now(timezone.utc) - timedelta(minutes=20)).isoformat()
    studies.store.experiments.update(second["id"], status="Training", started=started, gpus=["2"], num_gpus=1)
    assert studies.gpu_hours_used(study["id"]) == pytest.approx(0.5 + 1 / 3, abs=0.01)
    driver.tick()
    third = _trial_rows(studies, study["id"])[2]
    assert studies.get(study["id"])["status"] == "Running" and third["status"] == "Queued"

    _ran(studies, second, ["2"], runtime_s=1800.0, bleu=20.0)  # 0.5 more: 1.0 in all, the budget
    driver.tick()
    assert studies.gpu_hours_used(study["id"]) == pytest.approx(1.0)
    assert studies.store.experiments.get(third["id"])["status"] == "Stopped"  # stopped as at the time limit
    assert len(studies.trials(study["id"])) == 3  # and no new trial
    driver.tick()
    assert studies.get(study["id"])["status"] == "Completed"
    with pytest.raises(StudyError, match="has used its 1 GPU-hour limit"):
        studies.resume(study["id"])


def test_on_a_cpu_machine_trials_use_no_gpu_hours(opened, base):
    studies, driver = opened  # the supervisor has no GPU
    with pytest.raises(ConfigError) as raised:
        studies.create(base, {"max_trials": None, "gpu_hours_limit": 2.0})
    assert raised.value.errors[0].startswith("gpu_hours_limit: this machine has no GPU")
    study = studies.create(base, {"max_trials": 3, "concurrent_trials": 1, "gpu_hours_limit": 0.01})
    driver.tick()
    trial = _trial_rows(studies, study["id"])[0]
    _ran(studies, trial, [], runtime_s=36_000.0)  # ten hours on the CPU
    driver.tick()
    assert studies.gpu_hours_used(study["id"]) == 0.0
    assert len(studies.trials(study["id"])) == 2 and studies.get(study["id"])["status"] == "Running"


def test_a_gpu_hour_budget_alone_is_a_budget_where_trials_get_gpus(studio_home, base):
    from studio.config.study import StudySettings

    store = Store(studio_home)
    experiments = ExperimentService(store, Supervisor(store, studio_home, gpus=["0"]), studio_home)
    study = StudyService(store, experiments, studio_home).create(base, {"max_trials": None, "gpu_hours_limit": 2})
    assert (study["settings"]["max_trials"], study["settings"]["gpu_hours_limit"]) == (None, 2.0)
    assert "counts nothing there" in StudySettings.model_fields["gpu_hours_limit"].description  # the form's help
