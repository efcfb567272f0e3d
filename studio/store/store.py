"""The Studio database: projects, datasets, experiments, deployments, studies, settings, secrets."""
from __future__ import annotations

import threading
from pathlib import Path

from studio.paths import studio_home

from .database import LOCK, database_for
from .projects import ProjectRepo
from .records import RecordRepo
from .secrets import SecretStore
from .settings import SettingsRepo

DB_FILE = "db.json"
SECRETS_FILE = "secrets.json"


class Store:
    """Open (or create) the database under ``home`` (default: STUDIO_HOME).

    Opening reads db.json once; a corrupt file raises ``StoreError`` here, naming the
    backup to restore. All ``Store`` objects on the same home in one process share
    one cache and one lock, so they always agree.
    """

    def __init__(self, home: Path | None = None):
        self.home = Path(home).resolve() if home is not None else studio_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self.db_path = self.home / DB_FILE
        self.lock: threading.RLock = LOCK
        db = database_for(self.db_path)
        self.projects = ProjectRepo(db)
        default_project = self.projects.default_id
        self.datasets = RecordRepo(db, "datasets", "dataset", default_project)
        self.experiments = RecordRepo(db, "experiments", "experiment", default_project)
        self.deployments = RecordRepo(db, "deployments", "deployment", default_project)
        self.evaluations = RecordRepo(db, "evaluations", "evaluation", default_project)
        self.studies = RecordRepo(db, "studies", "study", default_project)  # AutoML studies
        self.settings = SettingsRepo(db)
        self.secrets = SecretStore(self.home / SECRETS_FILE)
        self.projects.default()  # reads the file now, so corruption shows at open time
