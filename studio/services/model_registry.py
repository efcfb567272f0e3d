"""The models the New Experiment dialog offers: assets/models.yaml plus an admin's STUDIO_HOME/models.yaml."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

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
        return self.problem_types is None or problem_type in self.problem_types


def load_registry(home: Path | None) -> list[RegisteredModel]:
    """Built-in models followed by the admin's; an admin entry with a known id replaces it."""
    models: dict[str, RegisteredModel] = {}
    for path in (BUILTIN_REGISTRY, (home / ADMIN_REGISTRY_NAME) if home else None):
        if path is not None and path.is_file():
            for model in _read(path):
                models[model.id] = model
    return list(models.values())


def choices_for(models: list[RegisteredModel], problem_type: str) -> list[str]:
    return [m.id for m in models if m.fits(problem_type)]


def _read(path: Path) -> list[RegisteredModel]:
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
        types = entry.get("problem_types")
        out.append(RegisteredModel(
            id=str(entry["id"]).strip(),
            family=str(entry.get("family", "")),
            problem_types=tuple(types) if types else None,
        ))
    return out
