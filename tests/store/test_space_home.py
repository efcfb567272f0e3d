"""Where a Space keeps its data: /data/studio on persistent storage, else a temporary folder, flagged."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from studio.paths import studio_home, survives_restart

SPACE = {"SPACE_ID": "someone/studio-demo"}


@pytest.fixture(autouse=True)
def own_temp_folder(tmp_path, monkeypatch):
    """The temporary folder a Space falls back to, inside this test's own folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()


def test_studio_home_wins_everywhere(tmp_path):
    chosen = tmp_path / "mine"
    assert studio_home({**SPACE, "STUDIO_HOME": str(chosen)}, persistent_root=tmp_path / "data") == chosen.resolve()
    assert chosen.is_dir()


def test_on_a_space_with_persistent_storage_data_lives_under_data_studio(tmp_path):
    data = tmp_path / "data"
    data.mkdir()

    home = studio_home(SPACE, persistent_root=data)

    assert home == (data / "studio").resolve() and home.is_dir()
    assert survives_restart(home, SPACE, persistent_root=data)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only folder")
def test_a_read_only_data_folder_is_not_persistent_storage(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    try:
        home = studio_home(SPACE, persistent_root=data)
    finally:
        data.chmod(0o755)
    assert home == (Path(tempfile.gettempdir()) / "studio").resolve()


def test_on_a_space_without_storage_data_lives_in_a_temporary_folder_that_says_so(tmp_path):
    home = studio_home(SPACE, persistent_root=tmp_path / "no-data-here")

    assert home == (Path(tempfile.gettempdir()) / "studio").resolve() and home.is_dir()
    assert not survives_restart(home, SPACE, persistent_root=tmp_path / "no-data-here")
    assert studio_home(SPACE, persistent_root=tmp_path / "no-data-here") == home  # every caller agrees


def test_off_a_space_the_default_is_studio_data_and_it_survives(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home = studio_home({}, persistent_root=tmp_path / "data")
    assert home == (tmp_path / "studio_data").resolve()
    assert survives_restart(home, {})
