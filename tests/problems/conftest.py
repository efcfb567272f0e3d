"""Helpers for problem-type tests: tiny models per session, configs, the real engine CLI."""
from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from tests import engine_cli
from tests.engine_cli import ROOT, RUN_FILES, read_metrics, read_status


def demo_data_module():
    """assets/data/make_image_demo_data.py, the generator of the shipped demo datasets."""
    spec = importlib.util.spec_from_file_location("make_image_demo_data", ROOT / "assets/data/make_image_demo_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_config(path: Path, problem_type: str, model_dir: Path, data_file: Path, **sections) -> Path:
    cfg = {
        "problem_type": problem_type,
        "llm_backbone": str(model_dir),
        "dataset": {"train_dataframe": str(data_file)},
        "training": {"batch_size": 8, "learning_rate": 0.003, "epochs": 1, "evaluation_epochs": 1,
                     "evaluate_before_training": True},
        "environment": {"seed": 7},
    }
    return engine_cli.write_config(path, cfg, sections)


def run_engine(config: Path, run_dir: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return engine_cli.run_engine("--config", str(config), "--out", str(run_dir), timeout=timeout)


def validation_series(run_dir: Path, name: str) -> list[float]:
    return [r["value"] for r in read_metrics(run_dir) if r["split"] == "validation" and r["name"] == name]


def assert_completed_with_all_files(result: subprocess.CompletedProcess, run_dir: Path) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_status(run_dir)["status"] == "Completed"
    missing = [name for name in RUN_FILES if not (run_dir / name).exists()]
    assert not missing, missing


@pytest.fixture(scope="session")
def tiny_detr_dir(tmp_path_factory) -> Path:
    from training.tiny_models import build_detr

    return build_detr(tmp_path_factory.mktemp("tiny-detr"))


@pytest.fixture(scope="session")
def tiny_llava_dir(tmp_path_factory) -> Path:
    from training.tiny_models import build_llava

    return build_llava(tmp_path_factory.mktemp("tiny-llava"))
