"""The models the New Experiment dialog offers: assets/models.yaml plus an admin's STUDIO_HOME/models.yaml.

Each entry says which problem types the model fits. An entry without ``problem_types`` gets
them from the model's own config.json (its ``architectures``) when that is on this machine (a
local folder, or the Hugging Face cache); only a model that says nothing fits every type.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from studio.config.problem_types import PROBLEM_TYPES, SAME_BACKBONES_AS, problem_types_of_checkpoint

from .model_availability import local_config

BUILTIN_REGISTRY = Path(__file__).resolve().parents[2] / "assets" / "models.yaml"
ADMIN_REGISTRY_NAME = "models.yaml"


class RegistryError(ValueError):
    """A models.yaml that cannot be used; the message names the file and entry."""


@dataclass(frozen=True)
class RegisteredModel:
    id: str
    family: str = ""
    problem_types: tuple[str, ...] | None = None  # None: fits every problem type

    def fits(self, problem_type: str) -> bool:
        return (self.problem_types is None or problem_type in self.problem_types
                or SAME_BACKBONES_AS.get(problem_type) in self.problem_types)


def load_registry(home: Path | None) -> list[RegisteredModel]:
    """Built-in models followed by the admin's; an admin entry with a known id replaces it."""
    models: dict[str, RegisteredModel] = {}
    for path in (BUILTIN_REGISTRY, (home / ADMIN_REGISTRY_NAME) if home else None):
        if path is not None and path.is_file():
            for model in read_registry_file(path):
                models[model.id] = model
    return list(models.values())


def choices_for(models: list[RegisteredModel], problem_type: str) -> list[str]:
    return [m.id for m in models if m.fits(problem_type)]


def read_registry_file(path: Path) -> list[RegisteredModel]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML ({exc})") from None
    entries = data.get("models", []) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise RegistryError(f"{path}: expected a top-level 'models:' list")
    out = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"id": entry}
        if not isinstance(entry, dict) or not str(entry.get("id", "")).strip():
            raise RegistryError(f"{path}: models[{index}] needs an 'id' (a Hub id or a local folder)")
        model_id = str(entry["id"]).strip()
        types = entry.get("problem_types")
        if types:
            if isinstance(types, str):
                types = [types]
            unknown = [t for t in types if t not in PROBLEM_TYPES] if isinstance(types, list) else [types]
            if unknown:
                raise RegistryError(f"{path}: models[{index}] ({model_id}): unknown problem type "
                                    f"{unknown[0]!r}; choose from {', '.join(PROBLEM_TYPES)}")
        out.append(RegisteredModel(
            id=model_id,
            family=str(entry.get("family", "")),
            problem_types=tuple(types) if types else inferred_problem_types(model_id),
        ))
    return out


def inferred_problem_types(model_id: str) -> tuple[str, ...] | None:
    """What the model's config.json says it fits, when that file is on this machine."""
    path = local_config(model_id)
    if path is None:
        return None
    try:
        model_config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return problem_types_of_checkpoint(model_config) if isinstance(model_config, dict) else None
