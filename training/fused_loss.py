"""Fused linear + cross-entropy for causal-LM training on CUDA, from liger-kernel when installed.

The vocabulary projection and the loss are computed chunk by chunk inside the model's forward
(liger-kernel patches the transformers class), so the [tokens, vocab] logits of a training batch
never exist in memory: with a 150k vocabulary they are the largest activation of a small model.
It gives the token-averaged loss only, so SampleAveragedCrossEntropy keeps the plain path, and
evaluation (which needs per-sample losses) always does. Not a dependency: without liger-kernel,
or on CPU (its kernels are Triton), the engine computes logits at labelled positions as before.
"""
from __future__ import annotations

import importlib.util

import torch

TOKEN_AVERAGED = "TokenAveragedCrossEntropy"


def liger_model_types() -> set[str]:
    """The model types liger-kernel can patch, or an empty set without it."""
    if importlib.util.find_spec("liger_kernel") is None:
        return set()
    from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN

    return set(MODEL_TYPE_TO_APPLY_LIGER_FN)


def fused_loss_choice(device_type: str, loss_function: str, model_type: str,
                      supported: set[str]) -> tuple[bool, str]:
    """(use the fused loss, why) for this run; the reason goes to system.log either way."""
    if device_type != "cuda":
        return False, "fused linear cross-entropy: off (needs CUDA; liger-kernel's kernels are Triton)"
    if not supported:
        return False, "fused linear cross-entropy: off (liger-kernel is not installed)"
    if model_type not in supported:
        return False, f"fused linear cross-entropy: off (liger-kernel has no kernels for model type {model_type!r})"
    if loss_function != TOKEN_AVERAGED:
        return False, f"fused linear cross-entropy: off (it gives the token-averaged loss only, not {loss_function})"
    return True, "fused linear cross-entropy: on (liger-kernel), training logits are never materialised"


def apply(model: torch.nn.Module) -> None:
    """Patch ``model`` (a transformers model or a peft wrapper of one) with liger's fused loss only."""
    from transformers.integrations.liger import apply_liger_kernel

    apply_liger_kernel(model, {"fused_linear_cross_entropy": True, "cross_entropy": False, "rope": False,
                               "rms_norm": False, "swiglu": False})
