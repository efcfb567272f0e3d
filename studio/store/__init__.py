"""The Studio database (TinyDB in STUDIO_HOME/db.json, atomic writes, one writer lock)."""
from .errors import DuplicateNameError, NotFoundError, StoreError
from .experiment_queries import search_experiments, sort_experiments
from .projects import DEFAULT_PROJECT_NAME
from .store import Store

__all__ = [
    "DEFAULT_PROJECT_NAME", "DuplicateNameError", "NotFoundError", "Store", "StoreError",
    "search_experiments", "sort_experiments",
]
