"""Demo mode: seed an empty Studio with a "Demo" project, the shipped demo datasets and tiny models.

A public demo (``python app.py --demo``, or a Hugging Face Space) must show something that works
in a minute on a CPU, with nothing downloaded: the models are random-init ones built here in
seconds (training/tiny_models.py), registered in STUDIO_HOME/models.yaml like an admin's entries.
Seeding only ever adds what is missing, and never touches a store that already has experiments.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import yaml

from studio.atomic_io import write_atomic
from studio.paths import SPACE_ENV
from studio.config.problem_types import (CAUSAL_LM, CLASSIFICATION_LM, IMAGE_CLASSIFICATION, MULTIMODAL,
                                         OBJECT_DETECTION)
from studio.datasets import import_dataset

from .model_registry import ADMIN_REGISTRY_NAME, RegistryError
from .projects import CURRENT_PROJECT_SETTING
from .registry_admin import load_admin_registry

DEMO_PROJECT_NAME = "Demo"
DEMO_DATA = Path(__file__).resolve().parents[2] / "assets" / "data"
# Text demos first: the image ones are made by assets/data/make_image_demo_data.py and may be absent.
DEMO_DATASETS = ["demo_instructions.csv", "demo_chat.jsonl", "demo_sentiment.csv", "demo_preferences.csv",
                 "demo_colors_images.parquet", "demo_colors_vqa.parquet", "demo_boxes_detection.parquet"]
# Folder name under STUDIO_HOME/models -> (training.tiny_models builder, problem types it fits).
TINY_MODELS = {
    "tiny-llama": ("llama", [CAUSAL_LM]),  # DPO shares Causal LM backbones
    "tiny-llama-classifier": ("llama_classifier", [CLASSIFICATION_LM]),
    "tiny-vit": ("vit", [IMAGE_CLASSIFICATION]),
    "tiny-detr": ("detr", [OBJECT_DETECTION]),
    "tiny-llava": ("llava", [MULTIMODAL]),
}
TRY_IT_DATASET = "demo_instructions"
TRY_IT_MODEL = "tiny-llama"
DEMO_ENV = "STUDIO_DEMO"


class DemoError(RuntimeError):
    """Seeding could not finish; the message says what to fix (nothing half-made is kept)."""


def demo_requested(flag: bool, environ=os.environ) -> bool:
    """``--demo``, or running on a Hugging Face Space unless STUDIO_DEMO=0 turns it off."""
    if environ.get(DEMO_ENV, "").strip() == "0":
        return False
    return bool(flag) or bool(environ.get(SPACE_ENV)) or environ.get(DEMO_ENV, "").strip() == "1"


def seed_demo(store, home: Path) -> dict:
    """Add the Demo project, datasets and tiny models that are missing; say what was added.

    Returns ``{"seeded": bool, "project_id", "datasets": {name: id}, "models": {name: path},
    "added": [what this call created]}``; ``seeded`` is False (and nothing is written) when the
    store already holds experiments.
    """
    home = Path(home)
    if store.experiments.count() > 0:
        return {"seeded": False, "project_id": None, "datasets": {}, "models": {}, "added": []}
    added: list[str] = []
    project = _demo_project(store)
    if project is None:
        project = store.projects.create(DEMO_PROJECT_NAME)
        added.append(f"project {DEMO_PROJECT_NAME}")
        # A fresh demo opens on its own project, so the visitor sees the datasets at once.
        store.settings.set(CURRENT_PROJECT_SETTING, project["id"])
    datasets = {}
    existing = {d["name"]: d["id"] for d in store.datasets.list(project["id"])}
    for filename in DEMO_DATASETS:
        name = Path(filename).stem
        if name in existing:
            datasets[name] = existing[name]
        elif (DEMO_DATA / filename).is_file():
            datasets[name] = import_dataset(store, DEMO_DATA / filename, filename, name, project["id"])["id"]
            added.append(f"dataset {name}")
    models = {}
    for folder, (kind, _types) in TINY_MODELS.items():
        path = home / "models" / folder
        if not (path / "config.json").is_file():
            _build_model(kind, path)
            added.append(f"model {folder}")
        models[folder] = str(path)
    if _register(home, models):
        added.append(ADMIN_REGISTRY_NAME)
    return {"seeded": True, "project_id": project["id"], "datasets": datasets, "models": models, "added": added}


def try_it_target(store, home: Path) -> tuple[str, str, str] | None:
    """(project id, dataset id, model id) the demo's one button starts from; None when not seeded."""
    project = _demo_project(store)
    model = Path(home) / "models" / TRY_IT_MODEL
    if project is None or not (model / "config.json").is_file():
        return None
    dataset = next((d for d in store.datasets.list(project["id"]) if d["name"] == TRY_IT_DATASET), None)
    return (project["id"], dataset["id"], str(model)) if dataset else None


def _demo_project(store) -> dict | None:
    return next((p for p in store.projects.list() if p["name"] == DEMO_PROJECT_NAME), None)


def _build_model(kind: str, path: Path) -> None:
    from training.tiny_models import BUILDERS

    path.parent.mkdir(parents=True, exist_ok=True)
    # Built beside its final place and renamed in, so an interrupted build never looks finished.
    scratch = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        BUILDERS[kind](scratch)
        shutil.rmtree(path, ignore_errors=True)
        os.replace(scratch, path)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _register(home: Path, models: dict[str, str]) -> bool:
    """Append the tiny models missing from STUDIO_HOME/models.yaml; an admin's entries stay as they are."""
    registry = home / ADMIN_REGISTRY_NAME
    try:
        data = load_admin_registry(registry)
    except RegistryError as exc:
        raise DemoError(f"{exc} (to seed the demo)") from None
    known = {str(e.get("id") if isinstance(e, dict) else e).strip() for e in data["models"]}
    missing = [{"id": path, "family": "Tiny (demo)", "problem_types": TINY_MODELS[folder][1]}
               for folder, path in models.items() if path not in known]
    if not missing:
        return False
    data["models"].extend(missing)
    write_atomic(registry, yaml.safe_dump(data, sort_keys=False))
    return True
