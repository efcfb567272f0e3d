"""The short GPU check: run it whenever a GPU machine is available (under 8 minutes on one H100).

    python bench/gpu_quick.py [--steps 30] [--workdir DIR]

1. The varlen kernel the engine picks for packed rows (training/packed_attention.py) gives the
   same attention as per-sequence SDPA, forward and backward, in bf16.
2. bench/engine_vs_trl.py on a Qwen2-0.5B-shaped model built locally (no download): real
   tokens/s, peak VRAM and MFU of the engine and of TRL (padded and padding-free), LoRA, bf16.
3. With two or more GPUs, a 2-process FSDP run through ``torchrun -m training``.

Prints one block of figures to paste into docs/engine.md. Exits non-zero without a GPU.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def check_varlen_kernel() -> str:
    import torch
    import torch.nn.functional as F

    from training import packed_attention

    torch.manual_seed(0)
    lengths = [37, 300, 5, 128]
    heads, kv_heads, dim = 14, 2, 64
    total = sum(lengths)
    q = torch.randn(1, heads, total, dim, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn(1, kv_heads, total, dim, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    v = torch.randn(1, kv_heads, total, dim, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    bounds = torch.tensor([0] + list(torch.tensor(lengths).cumsum(0)), device="cuda", dtype=torch.int32)
    kernel = packed_attention.varlen_kernel("cuda", torch.bfloat16, 0.0)
    module = torch.nn.Module()
    out, _ = packed_attention.packed_sdpa_attention(module, q, k, v, None, cu_seq_lens_q=bounds)
    reference = torch.cat([F.scaled_dot_product_attention(q[:, :, s:e], k[:, :, s:e], v[:, :, s:e], is_causal=True,
                                                          enable_gqa=True)
                           for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist())], dim=2).transpose(1, 2)
    forward_error = (out.float() - reference.float()).abs().max().item()
    grad = torch.autograd.grad(out.float().square().sum(), q)[0]
    grad_ref = torch.autograd.grad(reference.float().square().sum(), q)[0]
    backward_error = ((grad - grad_ref).abs().max() / grad_ref.abs().max()).item()
    ok = forward_error < 2e-2 and backward_error < 2e-2  # bf16 has ~3 significant digits
    return (f"varlen kernel: {kernel}; max |out - per-sequence sdpa| {forward_error:.2e}, relative grad error "
            f"{backward_error:.2e}: {'OK' if ok else 'MISMATCH'}")


def fsdp_two_gpus(work: Path) -> str:
    import yaml

    from bench.engine_vs_trl import build_model, make_data

    model, data = work / "model", work / "fsdp.parquet"
    if not model.exists():
        build_model(model, "qwen2-0.5b")
    make_data(data, 400)
    run_dir = work / "fsdp_run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump({
        "llm_backbone": str(model), "dataset": {"train_dataframe": str(data)}, "tokenizer": {"max_length": 512},
        "architecture": {"training_mode": "full", "gradient_checkpointing": True},
        "training": {"batch_size": 8, "epochs": 1, "evaluation_epochs": 1, "optimizer": "AdamW"},
        "prediction": {"metrics": ["Perplexity"]}, "environment": {"use_fsdp": True, "seed": 0}}))
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "training", str(run_dir)], cwd=ROOT, capture_output=True, text=True)
    speed = [line for line in (run_dir / "train.log").read_text().splitlines() if "tokens/s" in line]
    return (f"FSDP full fine-tuning on 2 GPUs: exit {proc.returncode} in {time.time() - started:.0f}s; "
            f"{speed[-1].split('INFO ')[-1] if speed else proc.stderr[-500:]}")


def main() -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU: nothing to measure")
        return 2
    work = args.workdir or Path(tempfile.mkdtemp(prefix="studio-gpu-"))
    print(f"{torch.cuda.get_device_name()} x {torch.cuda.device_count()}, torch {torch.__version__}; work dir {work}")
    print(check_varlen_kernel(), flush=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / "engine_vs_trl.py"), "--model", "qwen2-0.5b",
                    "--steps", str(args.steps), "--samples", "2000", "--workdir", str(work)], cwd=ROOT, check=False)
    if torch.cuda.device_count() >= 2:
        print(fsdp_two_gpus(work), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
