"""Where Studio keeps its data, and the check that user paths stay inside it."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

HOME_ENV = "STUDIO_HOME"
SPACE_ENV = "SPACE_ID"  # set by Hugging Face on every Space
# Where a Space mounts its persistent storage (when the owner added it); anything else is lost on restart.
SPACE_PERSISTENT_ROOT = Path("/data")


def studio_home(environ=os.environ, persistent_root: Path = SPACE_PERSISTENT_ROOT) -> Path:
    """STUDIO_HOME, else on a Space /data/studio (persistent storage) or a temporary folder, else ./studio_data."""
    home = Path(environ[HOME_ENV] if environ.get(HOME_ENV) else _default_home(environ, persistent_root)).resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def survives_restart(home: Path, environ=os.environ, persistent_root: Path = SPACE_PERSISTENT_ROOT) -> bool:
    """False on a Space whose data folder is outside its persistent storage (the banner's case)."""
    if not environ.get(SPACE_ENV):
        return True
    root = persistent_root.resolve()
    home = Path(home).resolve()
    return home == root or root in home.parents


def _default_home(environ, persistent_root: Path) -> Path:
    if not environ.get(SPACE_ENV):
        return Path("./studio_data")
    if persistent_root.is_dir() and os.access(persistent_root, os.W_OK):
        return persistent_root / "studio"
    # A fixed name, not mkdtemp: every caller of studio_home() in the process must agree.
    return Path(tempfile.gettempdir()) / "studio"


def dataset_dir(dataset_id: str, home: Path | None = None) -> Path:
    return inside_home(Path("datasets") / str(dataset_id), home)  # str: an unquoted all-digit id in YAML is a number


def run_dir(experiment_id: str, home: Path | None = None) -> Path:
    return inside_home(Path("runs") / experiment_id, home)


def inside_home(relative: str | os.PathLike, home: Path | None = None) -> Path:
    """Resolve ``relative`` under STUDIO_HOME and refuse anything that escapes it."""
    home = (home or studio_home()).resolve()
    target = (home / relative).resolve()
    if target != home and home not in target.parents:
        raise ValueError(f"path {relative!s} leaves the Studio data folder {home}")
    return target
