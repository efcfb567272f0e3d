"""FinetuneRecipe.setup as a problem type sees it (a recording problem type that stops at build_model)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from studio.config.problem_types import CAUSAL_LM
from training import data, problems
from training.problems import Problem
from training.recipe import FinetuneRecipe
from training.run_folder import RunLogs


class ModelWasRequested(Exception):
    pass


class RecordingProblem(Problem):
    calls: list = []

    def required_columns(self):
        return ["input", "output"]

    def observe_data(self, train, validation):
        self.calls.append(("observe_data", len(train.frame), len(validation.frame)))

    def build_model(self, load_kwargs):
        self.calls.append(("build_model",))
        raise ModelWasRequested()


PROBLEM = RecordingProblem


def _setup_until_the_model(tmp_path, monkeypatch, **environment) -> Path:
    """Run FinetuneRecipe.setup with the recording problem type; returns the run folder."""
    monkeypatch.setitem(problems.MODULES, CAUSAL_LM, __name__)
    monkeypatch.setattr(FinetuneRecipe, "_log_system", lambda self: None)  # versions need peft: slow to import
    pd.DataFrame({"input": [f"q{i}" for i in range(10)], "output": ["a"] * 10}).to_csv(tmp_path / "t.csv", index=False)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(yaml.safe_dump({
        "llm_backbone": "unused", "dataset": {"train_dataframe": str(tmp_path / "t.csv"), "validation_size": 0.2},
        "environment": environment}))
    RecordingProblem.calls = []
    recipe = FinetuneRecipe(run_dir, logs=RunLogs(run_dir, echo=False))
    with pytest.raises(ModelWasRequested):
        recipe.setup()
    recipe.cleanup()
    return run_dir


def test_problem_observes_the_loaded_splits_once_before_its_model_is_built(tmp_path, monkeypatch):
    reads = []
    real_read = data.read_table
    monkeypatch.setattr(data, "read_table", lambda *a: reads.append(a) or real_read(*a))
    _setup_until_the_model(tmp_path, monkeypatch)
    assert RecordingProblem.calls == [("observe_data", 8, 2), ("build_model",)]
    assert len(reads) == 1


def test_use_fsdp_in_one_process_is_a_warning_in_the_system_log(tmp_path, monkeypatch):
    run_dir = _setup_until_the_model(tmp_path, monkeypatch, use_fsdp=True)
    assert "WARNING use_fsdp ignored: this run has one process" in (run_dir / "system.log").read_text()
    (tmp_path / "off").mkdir()
    quiet = _setup_until_the_model(tmp_path / "off", monkeypatch)
    assert "use_fsdp" not in (quiet / "system.log").read_text()
