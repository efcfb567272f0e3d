"""Where Studio keeps its data, and the check that user paths stay inside it."""
from __future__ import annotations

import os
from pathlib import Path


def studio_home() -> Path:
    home = Path(os.environ.get("STUDIO_HOME", "./studio_data")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def dataset_dir(dataset_id: str, home: Path | None = None) -> Path:
    return inside_home(Path("datasets") / dataset_id, home)


def run_dir(experiment_id: str, home: Path | None = None) -> Path:
    return inside_home(Path("runs") / experiment_id, home)


def inside_home(relative: str | os.PathLike, home: Path | None = None) -> Path:
    """Resolve ``relative`` under STUDIO_HOME and refuse anything that escapes it."""
    home = (home or studio_home()).resolve()
    target = (home / relative).resolve()
    if target != home and home not in target.parents:
        raise ValueError(f"path {relative!s} leaves the Studio data folder {home}")
    return target
