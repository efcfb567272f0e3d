"""Download archives of a run: model, logs, everything but the resumable state."""
from __future__ import annotations

import zipfile

import pytest

from studio.services.archive import ArchiveError, build_archive


@pytest.fixture()
def run(tmp_path):
    run = tmp_path / "runs" / "abc123"
    for rel, data in {"config.yaml": "problem_type: x\n", "train.log": "step 1\n", "metrics.jsonl": "{}\n",
                      "checkpoint/model/config.json": "{}", "checkpoint/model/model.safetensors": "w" * 1000,
                      "checkpoint/last/optimizer.pt": "state"}.items():
        (run / rel).parent.mkdir(parents=True, exist_ok=True)
        (run / rel).write_text(data)
    return run


def names(path):
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return set(archive.namelist())


def test_model_archive_holds_the_model_and_config_in_exports(run, tmp_path):
    path = build_archive(run, "model")
    assert path == tmp_path / "exports" / "abc123-model.zip"
    assert names(path) == {"abc123/checkpoint/model/config.json", "abc123/checkpoint/model/model.safetensors",
                           "abc123/config.yaml"}


def test_logs_and_all_archives_skip_the_resumable_training_state(run):
    assert names(build_archive(run, "logs")) == {"abc123/config.yaml", "abc123/train.log", "abc123/metrics.jsonl"}
    everything = names(build_archive(run, "all"))
    assert "abc123/checkpoint/model/model.safetensors" in everything
    assert not any("checkpoint/last" in n for n in everything)


def test_archive_refuses_unknown_kinds_and_runs_without_a_model(run, tmp_path):
    with pytest.raises(ArchiveError, match="choose one of"):
        build_archive(run, "weights")
    empty = tmp_path / "runs" / "empty"
    empty.mkdir()
    with pytest.raises(ArchiveError, match="nothing to download"):
        build_archive(empty, "model")
