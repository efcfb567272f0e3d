"""Every shipped example config validates, and there is one per problem type."""
from __future__ import annotations

from pathlib import Path

import pytest

from studio.config import load_yaml
from studio.config.problem_types import PROBLEM_TYPES

CONFIGS = Path(__file__).resolve().parents[2] / "assets" / "configs"


def test_there_is_one_example_per_problem_type():
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(PROBLEM_TYPES)


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_example_config_validates(problem_type):
    cfg = load_yaml((CONFIGS / f"{problem_type}.yaml").read_text())
    assert cfg.problem_type == problem_type
