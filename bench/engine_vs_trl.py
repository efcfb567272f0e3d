"""Throughput of Studio's engine (padding-free) vs TRL's SFTTrainer, same model and data.

    python bench/engine_vs_trl.py [--steps 30] [--samples 2000] [--workdir DIR] [--model tiny|qwen2-0.5b]

On a CUDA GPU both train in bf16 and the table adds peak VRAM and MFU (LoRA = 4N FLOPs per
token against the GPU's dense bf16 peak, training/mfu.py); ``--model qwen2-0.5b`` builds a
Qwen2-0.5B-shaped random-init model locally (no download) for that. On CPU:

A ~7M-parameter tiny Llama (built locally), LoRA r4, batch 8, long-tailed synthetic
prompt/answer samples (most short, a few near max_length), answer-only loss, fp32, no
gradient checkpointing. Each contender trains ``--steps`` optimizer steps in its own
subprocess, one after the other (so they do not share the CPU); each counts the real
(non-padding) tokens it trains on and the wall time of its training loop. Prints real
tokens/s for each and the ratios. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from training import mfu  # noqa: E402  (the repo root is not on sys.path for a script)
WORDS = ("alpha beta gamma delta river stone cloud paper seven orange quiet window garden silver "
         "market engine yellow bridge summer winter").split()


def make_data(path: Path, n: int, seed: int = 0) -> None:
    """Long-tailed lengths: lognormal word counts, so a padded batch is mostly padding."""
    import pandas as pd

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        p_len = min(300, max(2, int(rng.lognormvariate(3.0, 0.9))))
        a_len = min(150, max(1, int(rng.lognormvariate(2.3, 0.8))))
        rows.append({"input": " ".join(rng.choice(WORDS) for _ in range(p_len)),
                     "output": " ".join(rng.choice(WORDS) for _ in range(a_len))})
    pd.DataFrame(rows).to_parquet(path, index=False)


def build_model(out: Path, kind: str = "tiny") -> int:
    """Save a random-init model to ``out``; returns its parameter count."""
    from transformers import AutoModelForCausalLM

    from training.tiny_models import build_llama, build_tokenizer

    if kind == "tiny":
        build_llama(out, hidden_size=384, layers=5)
    else:  # the shape of Qwen2-0.5B (494M parameters with its 151,936-token vocabulary)
        import torch
        from transformers import Qwen2Config, Qwen2ForCausalLM

        tok = build_tokenizer(out, extra_text=WORDS)
        config = Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                             num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=4096,
                             tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                             pad_token_id=tok.pad_token_id)
        torch.manual_seed(0)
        Qwen2ForCausalLM(config).save_pretrained(str(out))
    return sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(out).parameters())


def on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


# ---- contender 1: Studio's engine through its real CLI ------------------------------------
def run_engine(work: Path, model: Path, data: Path, valid: Path, steps: int, samples: int) -> dict:
    import yaml

    steps_per_epoch = math.ceil(samples / 8)
    cfg = {
        "llm_backbone": str(model),
        "dataset": {"train_dataframe": str(data), "validation_strategy": "custom",
                    "validation_dataframe": str(valid)},
        "tokenizer": {"max_length": 512},
        "architecture": {"training_mode": "lora", "gradient_checkpointing": False},
        "training": {"batch_size": 8, "learning_rate": 1e-4, "epochs": steps / steps_per_epoch,
                     "evaluation_epochs": 100, "lora_rank": 4, "lora_alpha": 16},
        "prediction": {"metrics": ["Perplexity"]},
        "environment": {"seed": 0, "mixed_precision": on_gpu()},
    }
    run_dir = work / "engine_run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "training", str(run_dir)], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lines = [l for l in (run_dir / "train.log").read_text().splitlines() if "tokens/s" in l]
    last = lines[-1]
    assert f"step {steps}/{steps}" in last, last
    result = {"name": "studio engine (padding-free)", "tokens_per_s": float(re.search(r"([\d.]+) tokens/s", last)[1])}
    peak = re.search(r"peak GPU memory ([\d.]+) GiB", (run_dir / "system.log").read_text())
    if peak:
        result["peak_gib"] = float(peak[1])
    return result


# ---- contender 2: TRL SFTTrainer, in a child process --------------------------------------
TRL_CHILD = r'''
import json, sys, time
import pandas as pd, torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import SFTConfig, SFTTrainer

model_dir, data, out, steps, padding_free = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
frame = pd.read_parquet(data)
ds = Dataset.from_dict({"prompt": frame["input"].tolist(), "completion": (" " + frame["output"]).tolist()})
tok = AutoTokenizer.from_pretrained(model_dir)
gpu = torch.cuda.is_available()
model = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="sdpa", dtype=torch.float32)
counted = {"tokens": 0}

class Clock(TrainerCallback):
    def on_step_begin(self, args, state, control, **kw):
        if state.global_step == 0 and "start" not in counted:
            counted["start"] = time.perf_counter()
    def on_train_end(self, args, state, control, **kw):
        counted["end"] = time.perf_counter()

args = SFTConfig(output_dir=out, max_steps=steps, per_device_train_batch_size=8, learning_rate=1e-4,
                 # TRL refuses max_length with unpacked padding_free (it cannot truncate there)
                 max_length=None if padding_free else 512, padding_free=padding_free, completion_only_loss=True,
                 activation_checkpointing=False, bf16=gpu, fp16=False, use_cpu=not gpu, report_to=[],
                 logging_steps=1000, save_strategy="no", dataloader_num_workers=0, seed=0)
trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok,
                     peft_config=LoraConfig(r=4, lora_alpha=16, lora_dropout=0.05, target_modules="all-linear"),
                     callbacks=[Clock()])
collate = trainer.data_collator
def counting(features):
    batch = collate(features)
    real = batch["attention_mask"].sum() if "attention_mask" in batch else batch["input_ids"].numel()
    counted["tokens"] += int(real)
    return batch
trainer.data_collator = counting
trainer.train()
peak = torch.cuda.max_memory_allocated() / 2**30 if gpu else None
print(json.dumps({"tokens": counted["tokens"], "seconds": counted["end"] - counted["start"], "peak_gib": peak}))
'''


def run_trl(work: Path, model: Path, data: Path, steps: int, padding_free: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", TRL_CHILD, str(model), str(data), str(work / "trl_out"),
                           str(steps), "1" if padding_free else "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"name": f"TRL SFTTrainer ({'padding_free' if padding_free else 'padded'})",
                "error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"name": f"TRL SFTTrainer ({'padding_free=True' if padding_free else 'padded'})",
            "tokens_per_s": result["tokens"] / result["seconds"], "peak_gib": result["peak_gib"]}


def gpu_peak() -> tuple[str, float] | None:
    """(GPU name, dense bf16 TFLOP/s) for MFU, or None on CPU / an unknown GPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    tflops = mfu.peak_tflops(name)
    if tflops is None:
        print(f"{name} is not in training/mfu.py's peak table: no MFU")
        return None
    return name, tflops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--model", choices=["tiny", "qwen2-0.5b"], default="tiny")
    parser.add_argument("--only", choices=["engine", "trl", "trl_padding_free"], action="append",
                        help="run only these contenders (repeatable); default: all three")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="studio-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    model, data, valid = work / "model", work / "train.parquet", work / "valid.parquet"
    n_params = build_model(model, args.model)
    peak = gpu_peak()
    make_data(data, args.samples)
    make_data(valid, 16, seed=1)
    print(f"{args.model}: {n_params / 1e6:.1f}M parameters; {args.samples} samples; {args.steps} steps; "
          f"batch 8; LoRA r4; {os.cpu_count()} CPUs; work dir {work}")
    results = []
    contenders = {
        "engine": lambda: run_engine(work, model, data, valid, args.steps, args.samples),
        "trl": lambda: run_trl(work, model, data, args.steps, padding_free=False),
        "trl_padding_free": lambda: run_trl(work, model, data, args.steps, padding_free=True),
    }
    for key in args.only or list(contenders):
        contender = contenders[key]
        started = time.time()
        result = contender()
        result["wall_s"] = time.time() - started
        results.append(result)
        shown = f"{result['tokens_per_s']:8.0f} real tokens/s" if "tokens_per_s" in result else result["error"]
        if result.get("peak_gib") is not None:
            shown += f", peak VRAM {result['peak_gib']:.1f} GiB"
        if peak and "tokens_per_s" in result:
            shown += f", MFU {100 * mfu.mfu(result['tokens_per_s'], n_params, 'lora', peak[1]):.1f}% of {peak[0]}"
        print(f"{result['name']:38s} {shown}   (process wall time {result['wall_s']:.0f}s)", flush=True)
    ours = results[0].get("tokens_per_s") if results[0]["name"].startswith("studio") else None
    for other in results[1:]:
        if ours and other.get("tokens_per_s"):
            print(f"studio engine / {other['name']}: {ours / other['tokens_per_s']:.2f}x")


if __name__ == "__main__":
    main()
