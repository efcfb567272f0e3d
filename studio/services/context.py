"""AppContext: the long-lived objects every UI page calls (store, runner, services)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from studio.runner.supervisor import Supervisor
from studio.store import Store

from .access_policy import NOBODY, SINGLE_USER, Actor, check_change, owner_fields
from .compare import CompareService
from .datasets import DatasetService
from .evaluations import EvaluationService
from .experiment_list import ExperimentList
from .experiments import ExperimentService
from .model_registry import RegisteredModel, load_registry
from .studies import StudyService
from .study_driver import StudyDriver

CURRENT_PROJECT_SETTING = "current_project_id"


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

    # ---- the current project (a server-side setting, so every page and a refresh agree)
    def current_project(self) -> dict:
        project_id = self.store.settings.get(CURRENT_PROJECT_SETTING)
        project = self.store.projects.get(project_id) if project_id else None
        return project or self.store.projects.default()

    def set_current_project(self, project_id: str) -> dict:
        project = self.store.projects.get(project_id)
        if project is None:
            raise ValueError(f"there is no project with id {project_id!r}")
        self.store.settings.set(CURRENT_PROJECT_SETTING, project_id)
        self.changes.bump()
        return project

    def create_project(self, name: str, actor: Actor = SINGLE_USER) -> dict:
        """A new project owned by ``actor``, made the current one (StoreError naming the problem)."""
        created = self.store.projects.create(name, owner=owner_fields(actor).get("owner"))
        self.set_current_project(created["id"])
        return created

    def rename_project(self, project_id: str, name: str, actor: Actor = SINGLE_USER) -> dict:
        project = self.store.projects.get(project_id)
        if project is not None:
            check_change(actor, project, "rename", "project")
        renamed = self.store.projects.rename(project_id, name)
        self.changes.bump()
        return renamed

    def close(self) -> None:
        self.supervisor.shutdown()


def _deploy_service(store, home):
    try:
        from studio.services.deploy import DeploymentService
    except ImportError:
        return None
    return DeploymentService(store, home)
