"""Engine test helpers: a learnable toy task and the real CLI in a subprocess."""
from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from tests import engine_cli
from tests.engine_cli import read_metrics

WORDS = ["cat", "dog", "sun", "red", "blue", "tree", "fish", "moon", "star", "car", "king", "rain"]


def copy_task(n: int, seed: int = 0) -> pd.DataFrame:
    """'repeat: X Y' -> 'X Y': a tiny model learns it within a few dozen steps."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(2))
        rows.append({"input": f"repeat: {words}", "output": words})
    return pd.DataFrame(rows)


def write_config(path: Path, model_dir: Path, data_file: Path, **sections) -> Path:
    cfg = {
        "llm_backbone": str(model_dir),
        "dataset": {"train_dataframe": str(data_file)},
        "tokenizer": {"max_length": 64},
        "training": {"batch_size": 8, "learning_rate": 0.003, "epochs": 1, "evaluation_epochs": 1},
        "prediction": {"metrics": ["Perplexity"], "max_length_inference": 8},
        "environment": {"seed": 7},
    }
    return engine_cli.write_config(path, cfg, sections)


def series(run_dir: Path, split: str, name: str) -> list[tuple[int, float]]:
    return [(m["step"], m["value"]) for m in read_metrics(run_dir) if m["split"] == split and m["name"] == name]


@pytest.fixture()
def toy_csv(tmp_path) -> Path:
    path = tmp_path / "train.csv"
    copy_task(160).to_csv(path, index=False)
    return path
