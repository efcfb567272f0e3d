"""AppContext: the long-lived objects every UI page calls (store, runner, services)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from studio.runner.supervisor import Supervisor
from studio.store import Store

from .access_policy import NOBODY, SINGLE_USER, Actor
from .compare import CompareService
from .datasets import DatasetService
from .evaluations import EvaluationService
from .experiment_list import ExperimentList
from .experiments import ExperimentService
from .model_registry import RegisteredModel, load_registry
from .projects import ProjectService
from .studies import StudyService
from .study_driver import StudyDriver

@dataclass
class ChangeFeed:
    """A counter the runner bumps on every stored change, so pages poll cheaply.

    A page remembers the version it last drew; when the counter has not moved, its
    timer tick returns without reading the store at all.
    """

    version: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bump(self, *_args) -> None:
        with self._lock:
            self.version += 1


@dataclass
class AppContext:
    home: Path
    store: Store
    supervisor: Supervisor
    experiments: ExperimentService
    changes: ChangeFeed
    datasets: DatasetService
    deploy: object | None = None  # studio.services.deploy.DeploymentService once it exists
    evaluations: EvaluationService | None = None
    compare: CompareService | None = None
    studies: StudyService | None = None
    demo: bool = False  # a public demo (--demo or a Space): the home page offers its one-click run
    users: object | None = None  # studio.auth.UserFile when started with --auth-file; None: single-user

    def __post_init__(self):
        if self.evaluations is None:
            self.evaluations = EvaluationService(self.store, Path(self.home))
        if self.compare is None:
            self.compare = CompareService(self.store, self.experiments, Path(self.home))
        if self.studies is None:
            self.studies = StudyService(self.store, self.experiments, Path(self.home))

    @classmethod
    def open(cls, home: Path, supervisor: Supervisor | None = None, start_runner: bool = True) -> "AppContext":
        store = Store(home)
        supervisor = supervisor or Supervisor(store, home)
        changes = ChangeFeed()
        supervisor.on_change(changes.bump)
        deploy = _deploy_service(store, home)
        experiments = ExperimentService(store, supervisor, home)
        studies = StudyService(store, experiments, Path(home))
        supervisor.on_tick(StudyDriver(studies, supervisor).tick)  # studies advance on the watcher thread
        if start_runner:
            supervisor.start()
            if deploy is not None:
                deploy.reattach()  # keep serving processes that outlived the last app run
        return cls(home=Path(home), store=store, supervisor=supervisor, experiments=experiments, changes=changes,
                   datasets=DatasetService(store, home), deploy=deploy, studies=studies)

    @cached_property
    def experiment_list(self) -> ExperimentList:
        return ExperimentList(self.store, self.experiments)

    def actor_for(self, username: str | None) -> Actor:
        """Who a request's signed-in name stands for (the role is read from the sign-in file now,
        so a role change applies at once); everyone is the admin without sign-in."""
        if self.users is None:
            return SINGLE_USER
        role = self.users.role(username) if username else None
        return Actor(username, role) if role else NOBODY

    def models(self) -> list[RegisteredModel]:
        # Read on each use so an admin's edit to STUDIO_HOME/models.yaml shows without a restart.
        return load_registry(self.home)

    # ---- the current project of each user (projects.py); every page and a refresh agree on it
    @cached_property
    def projects(self) -> ProjectService:
        return ProjectService(self.store, self.changes.bump, self._user_names)

    def current_project(self, actor: Actor = SINGLE_USER) -> dict:
        return self.projects.current(actor)

    def set_current_project(self, project_id: str, actor: Actor = SINGLE_USER) -> dict:
        return self.projects.set_current(project_id, actor)

    def _user_names(self) -> list[str]:
        try:
            return sorted(self.users.users()) if self.users is not None else []
        except ValueError:  # a broken sign-in file (AuthFileError) lists nobody to add
            return []

    def close(self) -> None:
        self.supervisor.shutdown()


def _deploy_service(store, home):
    try:
        from studio.services.deploy import DeploymentService
    except ImportError:
        return None
    return DeploymentService(store, home)
