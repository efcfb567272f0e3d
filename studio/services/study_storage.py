"""A study's optuna state: a journal file under ``STUDIO_HOME/studies/<id>/``, so it outlives the app.

Optuna's journal storage appends every ask, report and tell to one file (with a file lock),
and replays it on load: a study created before a restart continues with all its trials.
"""
from __future__ import annotations

from pathlib import Path

from studio import paths
from studio.config.study import StudySettings

JOURNAL_FILE = "optuna.journal"


def journal_path(study_id: str, home: Path) -> Path:
    return paths.inside_home(Path("studies") / study_id / JOURNAL_FILE, home)


def open_study(study_id: str, home: Path, settings: StudySettings, direction: str, *, create: bool = False):
    """The optuna Study of ``study_id`` with its sampler and pruner (created when ``create``)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = journal_path(study_id, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(path)))
    name = f"studio-{study_id}"
    if create:
        optuna.create_study(storage=storage, study_name=name, direction=direction)
    # The sampler's random state is not stored: seeding it with the trial count keeps a
    # resumed study from proposing its first trials again.
    done = len(storage.get_all_trials(storage.get_study_id_from_name(name), deepcopy=False))
    return optuna.load_study(study_name=name, storage=storage, sampler=_sampler(settings, done),
                             pruner=_pruner(settings))


def _sampler(settings: StudySettings, trials_so_far: int):
    import optuna

    # TPE models the good and bad trials only after a few random ones; with a small budget ten
    # (optuna's default) would leave nothing for it to do.
    startup = max(2, min(10, (settings.max_trials or 40) // 4))
    # constant_liar: trials running at once are assumed bad, so they are not proposed twice.
    return optuna.samplers.TPESampler(seed=settings.seed + trials_so_far, n_startup_trials=startup,
                                      constant_liar=True)


def _pruner(settings: StudySettings):
    import optuna

    if settings.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=settings.pruner_startup_trials, n_warmup_steps=0)
    if settings.pruner == "successive_halving":
        # Rungs at the 1st, 2nd, 4th, ... validation: at each, the worse half stops.
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    return optuna.pruners.NopPruner()
