"""The real CLI on a tiny Llama: training lowers loss, the run folder is complete, failures are clear."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch
import yaml

from tests.engine.conftest import series, write_config
from tests.engine_cli import ROOT, RUN_FILES, engine_env, read_metrics, run_engine



def _assert_completed(proc, run_dir):
    status = json.loads((run_dir / "status.json").read_text())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert status["status"] == "Completed" and status["progress"] == 1.0 and status["error"] is None


@pytest.fixture(scope="module")
def lora_run(tiny_llama_dir, tmp_path_factory):
    from tests.engine.conftest import copy_task

    tmp = tmp_path_factory.mktemp("lora")
    copy_task(160).to_csv(tmp / "train.csv", index=False)
    cfg = write_config(tmp / "cfg.yaml", tiny_llama_dir, tmp / "train.csv",
                       training={"learning_rate": 0.01, "epochs": 2, "evaluate_before_training": True},
                       prediction={"metrics": ["Perplexity", "BLEU", "QA_Accuracy"]})
    run_dir = tmp / "run"
    proc = run_engine("--config", str(cfg), "--out", str(run_dir))
    return proc, run_dir


def test_lora_run_lowers_validation_loss_and_writes_every_run_file(lora_run):
    proc, run_dir = lora_run
    _assert_completed(proc, run_dir)
    for name in RUN_FILES + ["checkpoint/adapter/adapter_config.json"]:
        assert (run_dir / name).exists(), name
    losses = [v for _, v in series(run_dir, "validation", "loss")]
    assert len(losses) >= 2 and losses[-1] < losses[0] - 0.05, losses
    assert {m["name"] for m in read_metrics(run_dir)} >= {"loss", "lr", "Perplexity", "BLEU", "QA_Accuracy"}
    final = json.loads((run_dir / "final_metrics.json").read_text())
    assert final["loss"] == pytest.approx(losses[-1])
    perplexity = series(run_dir, "validation", "Perplexity")
    best_step, best_value = min(perplexity, key=lambda point: point[1])
    assert final["best"]["step"] == best_step and final["best"]["Perplexity"] == pytest.approx(best_value)
    assert set(final["best"]) == {"step", "epoch", "Perplexity"}
    predictions = pd.read_parquet(run_dir / "predictions.parquet")
    assert {"prompt", "target", "prediction", "BLEU", "QA_Accuracy", "Perplexity"} <= set(predictions.columns)
    assert len(predictions) == 32
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert resolved["tokenizer"]["padding_side"] == "left" and resolved["training"]["loss_function"]
    train_log = (run_dir / "train.log").read_text()
    assert "LoRA rank 4" in train_log and "trainable parameters" in train_log
    assert "padding-free packing" in train_log
    assert "fp32" in (run_dir / "system.log").read_text()


def test_merged_checkpoint_reloads_and_matches_the_adapter(lora_run, tiny_llama_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, run_dir = lora_run
    merged = AutoModelForCausalLM.from_pretrained(run_dir / "checkpoint" / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(run_dir / "checkpoint" / "model")
    base = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    adapted = PeftModel.from_pretrained(base, run_dir / "checkpoint" / "adapter").eval()
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "repeat: cat dog"}],
                                           tokenize=False, add_generation_prompt=True)
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        assert torch.allclose(merged(**ids).logits, adapted(**ids).logits, atol=1e-4)
        out = merged.generate(**ids, max_new_tokens=5, min_new_tokens=5, do_sample=False)
    assert out.shape[1] == ids["input_ids"].shape[1] + 5


def test_full_run_lowers_validation_loss(tiny_llama_dir, toy_csv, tmp_path):
    cfg = write_config(tmp_path / "cfg.yaml", tiny_llama_dir, toy_csv,
                       architecture={"training_mode": "full", "gradient_checkpointing": False},
                       environment={"use_fsdp": True},
                       training={"epochs": 2, "evaluate_before_training": True, "optimizer": "AdamW",
                                 "schedule": "Linear", "warmup_epochs": 0.2, "gradient_clip": 1.0})
    run_dir = tmp_path / "run"
    proc = run_engine("--config", str(cfg), "--out", str(run_dir))
    _assert_completed(proc, run_dir)
    losses = [v for _, v in series(run_dir, "validation", "loss")]
    assert losses[-1] < losses[0] - 0.5, losses
    assert not (run_dir / "checkpoint" / "adapter").exists()
    assert "training mode full" in (run_dir / "train.log").read_text()
    assert "use_fsdp ignored: this run has one process" in (run_dir / "system.log").read_text()


def test_missing_column_fails_with_a_clear_reason(tiny_llama_dir, toy_csv, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_config(run_dir / "config.yaml", tiny_llama_dir, toy_csv, dataset={"input_column": "question"})
    proc = run_engine(str(run_dir))
    status = json.loads((run_dir / "status.json").read_text())
    assert proc.returncode == 1
    assert status["status"] == "Failed"
    assert "'question'" in status["error"] and "available columns: input, output" in status["error"]
    # A user error is its message, not a traceback (in the CLI's output and in the logs).
    assert "'question'" in proc.stderr and "Traceback" not in proc.stderr
    assert "Traceback" not in (run_dir / "system.log").read_text()


def test_sigterm_stops_and_resume_continues_from_the_last_checkpoint(tiny_llama_dir, tmp_path):
    from tests.engine.conftest import copy_task

    copy_task(64).to_csv(tmp_path / "train.csv", index=False)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_config(run_dir / "config.yaml", tiny_llama_dir, tmp_path / "train.csv",
                 dataset={"validation_size": 0.25}, architecture={"gradient_checkpointing": False},
                 training={"epochs": 12, "evaluation_epochs": 0.5, "batch_size": 8})
    proc = subprocess.Popen([sys.executable, "-m", "training", str(run_dir)], cwd=ROOT, env=engine_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = run_dir / "checkpoint" / "last" / "state.json"
    deadline = time.time() + 120
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    assert json.loads((run_dir / "status.json").read_text())["status"] == "Stopped"
    saved_step = json.loads(state.read_text())["step"]
    total_steps = 12 * 6  # 48 training rows / batch 8 = 6 steps per epoch
    assert 0 < saved_step < total_steps

    resumed = run_engine(str(run_dir), "--resume")
    _assert_completed(resumed, run_dir)
    assert f"resumed from checkpoint/last at step {saved_step}/" in (run_dir / "train.log").read_text()
    steps = [s for s, _ in series(run_dir, "train", "loss")]
    assert steps == list(range(1, steps[-1] + 1)), "every step logged exactly once across stop and resume"
    assert steps[-1] == total_steps
    # the best evaluation is chosen across both processes (the resumed one replays metrics.jsonl)
    best_step, best_value = min(series(run_dir, "validation", "Perplexity"), key=lambda point: point[1])
    best = json.loads((run_dir / "final_metrics.json").read_text())["best"]
    assert (best["step"], best["Perplexity"]) == (best_step, pytest.approx(best_value))


def test_qlora_with_adamw8bit_runs_on_cpu_and_a_missing_judge_does_not_fail_the_run(tiny_llama_dir, toy_csv,
                                                                                      tmp_path, monkeypatch):
    pytest.importorskip("bitsandbytes", reason="qlora needs bitsandbytes")
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    cfg = write_config(tmp_path / "cfg.yaml", tiny_llama_dir, toy_csv,
                       architecture={"training_mode": "qlora"},
                       training={"learning_rate": 0.01, "optimizer": "AdamW8bit"},
                       prediction={"metrics": ["Perplexity", "LLM-as-a-Judge"]})
    run_dir = tmp_path / "run"
    proc = run_engine("--config", str(cfg), "--out", str(run_dir))
    _assert_completed(proc, run_dir)
    assert "metric LLM-as-a-Judge failed" in (run_dir / "train.log").read_text()
    assert "Perplexity" in json.loads((run_dir / "final_metrics.json").read_text())
    # The merged model is full precision (merged into an unquantized base), not 4-bit.
    merged_cfg = json.loads((run_dir / "checkpoint" / "model" / "config.json").read_text())
    assert "quantization_config" not in merged_cfg
