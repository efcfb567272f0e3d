"""Model FLOPs utilisation: the share of the GPU's dense bf16 peak that training turns into model FLOPs.

Per trained token a full fine-tune costs ~6N FLOPs (forward 2N, backward 4N: gradients of the
activations and of the weights); LoRA ~4N, because the frozen weights need no weight
gradients (the adapters' own FLOPs are negligible). Attention's sequence-length term is left
out, as in the PaLM/Chinchilla convention, so the figure is slightly conservative for long
sequences. Peaks are the vendors' dense (no sparsity) bf16 tensor-core figures.
"""
from __future__ import annotations

# (substring of torch.cuda.get_device_name(), dense bf16 TFLOP/s), most specific first.
DENSE_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),  # SXM; an H100 NVL reads high here
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10G", 70.0),
    ("RTX 4090", 165.0),
)


def peak_tflops(device_name: str) -> float | None:
    """Dense bf16 peak of a GPU by its CUDA name, or None when it is not in the table."""
    for fragment, tflops in DENSE_BF16_TFLOPS:
        if fragment.lower() in device_name.lower():
            return tflops
    return None


def flops_per_token(n_params: int, training_mode: str) -> float:
    """Model FLOPs per trained token: 4N for LoRA/QLoRA, 6N for full fine-tuning."""
    return (4.0 if training_mode in ("lora", "qlora") else 6.0) * n_params


def mfu(tokens_per_s: float, n_params: int, training_mode: str, peak: float, n_gpus: int = 1) -> float:
    """Achieved model FLOP/s over the peak of ``n_gpus`` GPUs (0..1); ``peak`` in TFLOP/s per GPU."""
    return tokens_per_s * flops_per_token(n_params, training_mode) / (peak * 1e12 * n_gpus)
