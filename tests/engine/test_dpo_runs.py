"""text_dpo_modeling through the real CLI on a tiny local model and the shipped demo preference pairs."""
from __future__ import annotations

import json
import math

import pytest

from tests.engine.conftest import series
from tests.engine_cli import ROOT, read_status, run_engine, write_config

PAIRS_CSV = ROOT / "assets" / "data" / "demo_preferences.csv"
pytestmark = pytest.mark.slow


def dpo_config(path, model_dir, **sections):
    cfg = {
        "problem_type": "text_dpo_modeling",
        "llm_backbone": str(model_dir),
        "dataset": {"train_dataframe": str(PAIRS_CSV), "input_column": "prompt", "output_column": "chosen",
                    "rejected_output_column": "rejected", "data_sample": 0.4},
        "tokenizer": {"max_length": 48},
        "architecture": {"training_mode": "lora", "gradient_checkpointing": False},
        "training": {"batch_size": 8, "learning_rate": 0.003, "epochs": 2, "evaluation_epochs": 1, "lora_rank": 8},
        "prediction": {"max_length_inference": 4},
        "environment": {"seed": 7},
    }
    return write_config(path, cfg, sections)


def completed(proc, run_dir):
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_status(run_dir)["status"] == "Completed"


def test_dpo_raises_reward_accuracy_on_held_out_pairs(tiny_llama_dir, tmp_path):
    import pandas as pd
    from transformers import AutoModelForCausalLM

    run_dir = tmp_path / "run"
    cfg = dpo_config(tmp_path / "cfg.yaml", tiny_llama_dir, training={"evaluate_before_training": True})
    completed(run_engine("--config", str(cfg), "--out", str(run_dir), timeout=600), run_dir)
    accuracy = [v for _, v in series(run_dir, "validation", "Reward accuracy")]
    margin = [v for _, v in series(run_dir, "validation", "Reward margin")]
    assert accuracy[0] == 0.0 and margin[0] == 0.0  # untrained: the policy is its reference
    assert accuracy[-1] > 0.6 and margin[-1] > 0, (accuracy, margin)
    log = (run_dir / "train.log").read_text()
    assert "reference model is the base model with the adapter disabled" in log
    predictions = pd.read_parquet(run_dir / "predictions.parquet")
    assert {"prompt", "target", "rejected"} <= set(predictions.columns)
    assert AutoModelForCausalLM.from_pretrained(run_dir / "checkpoint" / "model") is not None


@pytest.mark.parametrize("loss,mode", [("IPOLoss", "lora"), ("HingeLoss", "lora"), ("SimPOLoss", "lora"),
                                       ("ORPOLoss", "lora"), ("DPOLoss", "full")])
def test_every_preference_loss_trains_through_the_cli(tiny_llama_dir, tmp_path, loss, mode):
    run_dir = tmp_path / "run"
    cfg = dpo_config(tmp_path / "cfg.yaml", tiny_llama_dir, architecture={"training_mode": mode},
                     dataset={"data_sample": 0.15}, training={"epochs": 1, "loss_function": loss})
    completed(run_engine("--config", str(cfg), "--out", str(run_dir), timeout=600), run_dir)
    final = json.loads((run_dir / "final_metrics.json").read_text())
    assert all(math.isfinite(final[k]) for k in ("loss", "Reward accuracy", "Reward margin", "Chosen logp"))
    if mode == "full":
        assert "frozen reference copy of the model is kept in memory" in (run_dir / "train.log").read_text()


def test_a_missing_rejected_column_fails_naming_it(tiny_llama_dir, tmp_path):
    run_dir = tmp_path / "run"
    cfg = dpo_config(tmp_path / "cfg.yaml", tiny_llama_dir, dataset={"rejected_output_column": "worse"})
    proc = run_engine("--config", str(cfg), "--out", str(run_dir))
    assert proc.returncode == 1
    assert "'worse'" in read_status(run_dir)["error"]


def test_two_process_ddp_dpo_follows_the_one_process_run_of_the_same_global_batch(tiny_llama_dir, tmp_path):
    """DDP over 2 CPU processes (gloo) with the reference as the adapter-disabled base: each rank's pairs,
    averaged by the all-reduce, give the losses one process gets by accumulating the same two micro-batches."""
    from tests.engine.test_distributed_runs import PARITY_TOLERANCE, _completed
    from tests.engine_cli import run_torchrun

    no_dropout = {"architecture": {"intermediate_dropout": 0.0}, "dataset": {"data_sample": 0.15}}
    one = dpo_config(tmp_path / "one.yaml", tiny_llama_dir, **no_dropout,
                     training={"epochs": 1, "batch_size": 4, "grad_accumulation": 2, "lora_dropout": 0.0})
    ddp = dpo_config(tmp_path / "ddp.yaml", tiny_llama_dir, **no_dropout,
                     training={"epochs": 1, "batch_size": 4, "grad_accumulation": 1, "lora_dropout": 0.0})
    single_dir, ddp_dir = tmp_path / "single", tmp_path / "ddp"
    _completed(run_engine("--config", str(one), "--out", str(single_dir), timeout=600), single_dir)
    _completed(run_torchrun(2, "-m", "training", "--config", str(ddp), "--out", str(ddp_dir)), ddp_dir)

    single, distributed = series(single_dir, "train", "loss"), series(ddp_dir, "train", "loss")
    assert [s for s, _ in single] == [s for s, _ in distributed] and len(single) >= 4
    assert max(abs(a - b) for (_, a), (_, b) in zip(single, distributed)) < PARITY_TOLERANCE, (single, distributed)
    for name in ("Reward margin", "Reward accuracy"):
        assert series(ddp_dir, "validation", name)[-1][1] == pytest.approx(
            series(single_dir, "validation", name)[-1][1], abs=PARITY_TOLERANCE)
    assert "parallel: DDP over 2 processes" in (ddp_dir / "system.log").read_text()
    assert "reference model is the base model with the adapter disabled" in (ddp_dir / "train.log").read_text()
