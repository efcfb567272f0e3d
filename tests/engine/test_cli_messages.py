"""What the engine CLI prints: a user error as its message only, each log line once, no library noise."""
from __future__ import annotations

import json
import logging
import subprocess
import sys

import yaml

from studio.library_noise import BITSANDBYTES_CPU_LOGGER, silence_library_noise
from tests.engine_cli import ROOT, engine_env, run_engine

MISSPELT = {"problem_type": "text_causal_language_modeling", "llm_backbone": "/nowhere/model",
            "dataset": {"train_dataframe": "/nowhere/train.csv"}, "training": {"learnig_rate": 0.1}}


def test_a_misspelt_key_prints_the_message_without_a_traceback(tmp_path):
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(MISSPELT))
    run_dir = tmp_path / "run"
    proc = run_engine("--config", str(tmp_path / "cfg.yaml"), "--out", str(run_dir), timeout=120)
    assert proc.returncode == 1
    assert "training.learnig_rate: unknown key; did you mean training.learning_rate?" in proc.stderr
    assert "Traceback" not in proc.stderr and "File \"" not in proc.stderr
    assert proc.stderr.count("learnig_rate: unknown key") == 1
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "Failed" and "learnig_rate" in status["error"]


def test_with_stderr_on_system_log_as_the_runner_starts_it_every_line_is_written_once(tmp_path):
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(MISSPELT))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with open(run_dir / "system.log", "ab") as system_log:  # exactly how the supervisor launches a run
        subprocess.run([sys.executable, "-m", "training", "--config", str(tmp_path / "cfg.yaml"),
                        "--out", str(run_dir)], cwd=ROOT, env=engine_env(), stdin=subprocess.DEVNULL,
                       stdout=system_log, stderr=subprocess.STDOUT, timeout=120)
    lines = [line for line in (run_dir / "system.log").read_text().splitlines() if line.strip()]
    assert any(" INFO pid " in line for line in lines), lines
    assert len(lines) == len(set(lines)), lines
    assert "kernels-community" not in "\n".join(lines)


def test_the_bitsandbytes_kernels_warning_is_dropped_and_its_other_warnings_kept(caplog):
    silence_library_noise()
    silence_library_noise()  # idempotent: one filter
    logger = logging.getLogger(BITSANDBYTES_CPU_LOGGER)
    assert len([f for f in logger.filters if type(f).__name__ == "_DropNoise"]) == 1
    with caplog.at_level(logging.WARNING):
        logger.warning("Failed to load CPU gemm_4bit_forward from kernels-community: %s. Please make sure",
                       "No module named 'kernels'")
        logger.warning("a real bitsandbytes problem")
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["a real bitsandbytes problem"]
