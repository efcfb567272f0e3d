"""The admin page's edits to the model registry: entries of STUDIO_HOME/models.yaml, added or removed.

Built-in models (assets/models.yaml) are part of the installation and are not edited here; an
admin entry with the same id replaces one for this Studio. Every change is checked by the same
reader the New Experiment dialog uses before the file is replaced (atomically, under
``models.yaml.lock``), so a saved registry always loads.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from filelock import FileLock

from studio.atomic_io import write_atomic
from studio.config.problem_types import PROBLEM_TYPES
from studio.store.names import character_problem

from .access_policy import SINGLE_USER, Actor, check_administer
from .model_registry import ADMIN_REGISTRY_NAME, RegistryError, read_registry_file

MAX_MODEL_ID_CHARS = 300


def admin_entries(home: Path) -> list[dict]:
    """The entries of STUDIO_HOME/models.yaml as written ({"id", "family", "problem_types"})."""
    data = load_admin_registry(Path(home) / ADMIN_REGISTRY_NAME)
    return [entry if isinstance(entry, dict) else {"id": str(entry)} for entry in data["models"]]


def add_model(home: Path, model_id: str, family: str = "", problem_types: list[str] | None = None,
              actor: Actor = SINGLE_USER) -> dict:
    """Add (or replace, by id) an entry; RegistryError naming the field when it is not usable."""
    check_administer(actor, "the model registry")
    model_id, family = str(model_id or "").strip(), str(family or "").strip()
    if not model_id:
        raise RegistryError("Model id: enter a Hub id (org/name) or a local folder with a checkpoint")
    for label, text in (("Model id", model_id), ("Family", family)):
        problem = character_problem(text)
        if problem or len(text) > MAX_MODEL_ID_CHARS:
            raise RegistryError(f"{label}: {problem or f'can have at most {MAX_MODEL_ID_CHARS} characters'}")
    unknown = [t for t in problem_types or [] if t not in PROBLEM_TYPES]
    if unknown:
        raise RegistryError(f"Problem types: unknown {unknown[0]!r}; choose from {', '.join(PROBLEM_TYPES)}")
    entry = {"id": model_id, **({"family": family} if family else {}),
             **({"problem_types": list(problem_types)} if problem_types else {})}
    path = Path(home) / ADMIN_REGISTRY_NAME
    with FileLock(str(path) + ".lock", timeout=10):
        data = load_admin_registry(path)
        data["models"] = [e for e in data["models"] if _id(e) != model_id] + [entry]
        _write_checked(path, data)
    return entry


def remove_model(home: Path, model_id: str, actor: Actor = SINGLE_USER) -> None:
    check_administer(actor, "the model registry")
    path = Path(home) / ADMIN_REGISTRY_NAME
    with FileLock(str(path) + ".lock", timeout=10):
        data = load_admin_registry(path)
        kept = [e for e in data["models"] if _id(e) != str(model_id).strip()]
        if len(kept) == len(data["models"]):
            raise RegistryError(f"{model_id!r} is not in {path.name}; built-in models cannot be removed here")
        data["models"] = kept
        _write_checked(path, data)


def _id(entry) -> str:
    return str(entry.get("id") if isinstance(entry, dict) else entry).strip()


def load_admin_registry(path: Path) -> dict:
    """STUDIO_HOME/models.yaml as written, ``{"models": [...]}`` (empty when missing); RegistryError
    when it cannot be edited safely."""
    if not path.is_file():
        return {"models": []}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {"models": []}
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML ({exc}); fix it by hand first") from None
    if not isinstance(data, dict) or not isinstance(data.setdefault("models", []), list):
        raise RegistryError(f"{path}: expected a top-level 'models:' list; fix it by hand first")
    return data


def _write_checked(path: Path, data: dict) -> None:
    text = yaml.safe_dump(data, sort_keys=False)
    staged = path.with_name(f".{path.name}.check")
    staged.write_text(text, encoding="utf-8")
    try:
        read_registry_file(staged)  # the dialog's own reader: refuses what it could not load
    finally:
        staged.unlink(missing_ok=True)
    write_atomic(path, text)
