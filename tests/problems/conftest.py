"""Helpers for problem-type tests: tiny models per session, configs, the real engine CLI."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RUN_FILES = ["config.yaml", "config.input.yaml", "status.json", "metrics.jsonl", "train.log", "system.log",
             "predictions.parquet", "final_metrics.json", "checkpoint/model/config.json", "checkpoint/last/state.json"]


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
    for section, values in sections.items():
        if isinstance(values, dict):
            cfg.setdefault(section, {}).update(values)
        else:
            cfg[section] = values
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_engine(config: Path, run_dir: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "2")
    return subprocess.run([sys.executable, "-m", "training", "--config", str(config), "--out", str(run_dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def validation_series(run_dir: Path, name: str) -> list[float]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r["value"] for r in records if r["split"] == "validation" and r["name"] == name]


def status(run_dir: Path) -> dict:
    return json.loads((run_dir / "status.json").read_text())


def assert_completed_with_all_files(result: subprocess.CompletedProcess, run_dir: Path) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert status(run_dir)["status"] == "Completed"
    missing = [name for name in RUN_FILES if not (run_dir / name).exists()]
    assert not missing, missing


@pytest.fixture(scope="session")
def tiny_vit_dir(tmp_path_factory) -> Path:
    from training.tiny_models import build_vit

    return build_vit(tmp_path_factory.mktemp("tiny-vit"))


@pytest.fixture(scope="session")
def tiny_detr_dir(tmp_path_factory) -> Path:
    from training.tiny_models import build_detr

    return build_detr(tmp_path_factory.mktemp("tiny-detr"))


@pytest.fixture(scope="session")
def tiny_llava_dir(tmp_path_factory) -> Path:
    from training.tiny_models import build_llava

    return build_llava(tmp_path_factory.mktemp("tiny-llava"))
