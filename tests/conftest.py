"""Shared fixtures: tiny local models (no hub), an isolated STUDIO_HOME per test."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    from training.tiny_models import build_llama

    return build_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_vit_dir(tmp_path_factory) -> Path:
    from training.tiny_models import build_vit

    return build_vit(tmp_path_factory.mktemp("tiny-vit"))


@pytest.fixture()
def studio_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "studio_home"
    home.mkdir()
    monkeypatch.setenv("STUDIO_HOME", str(home))
    return home
