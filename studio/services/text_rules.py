"""Which text the services let into the store: storable (no lone surrogates) and, for names, plain.

Checked where a request enters, so the user reads the field that is wrong instead of a
failed save (see ``studio.store.storable`` for why some Python text cannot be stored).
"""
from __future__ import annotations

from typing import Any

from studio.config import ConfigError
from studio.store.names import name_problem
from studio.store.storable import SURROGATE_REASON, unstorable_path

EXPERIMENT_NAME_FIELD = "experiment_name"


def unstorable_text_error(value: Any, root: str = "") -> str | None:
    """``"<field path>: <why>"`` for the first text in ``value`` the store cannot hold, else None."""
    where = unstorable_path(value, root)
    return f"{where}: {SURROGATE_REASON}" if where else None


def refuse_unstorable_text(config_data: dict) -> None:
    """ConfigError naming the field, before any message could echo the bad text back."""
    error = unstorable_text_error(config_data)
    if error:
        raise ConfigError([error])


def experiment_name_errors(name: Any) -> list[str]:
    """The rule datasets and projects follow, for ``experiment_name`` (blank means generated)."""
    if not isinstance(name, str) or not name.strip():
        return []  # a wrong type is the schema's to report; blank gets a generated name
    problem = name_problem(name)
    return [f"{EXPERIMENT_NAME_FIELD}: {problem}"] if problem else []
