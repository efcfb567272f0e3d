"""Attention for padding-free packed batches that only computes each sequence against itself.

With ``sdpa``, a packed row of total length T gets a [T, T] block-diagonal mask: every token
is scored against every other token of the row and most of that work is masked away, and the
masked CPU kernel is much slower than the causal one. ``packed_sdpa`` runs
``scaled_dot_product_attention(is_causal=True)`` once per packed sequence instead (sum of n_i^2
work, no mask), given the sequence boundaries ``cu_seq_lens_q`` (the flash-attention varlen
keyword that transformers passes through to the attention function). Without boundaries
(padded batches, generation with a KV cache) it is exactly transformers' ``sdpa``.

On CUDA in bf16/fp16 the whole packed row goes to one varlen kernel instead of one SDPA
call per sequence: PyTorch's own ``torch.nn.attention.varlen.varlen_attn`` (torch >= 2.10,
flash-attention kernels inside torch) or, without it, ``flash_attn_varlen_func`` when
flash-attn is installed. Both take the same ``cu_seq_lens`` boundaries; neither has dropout
nor runs on CPU, so those cases keep the per-sequence SDPA loop (:func:`varlen_kernel`).
"""
from __future__ import annotations

import functools
import importlib.util

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

NAME = "packed_sdpa"
TORCH_VARLEN, FLASH_ATTN, PER_SEQUENCE_SDPA = "torch varlen_attn", "flash-attn varlen", "per-sequence sdpa"


@functools.cache
def _torch_varlen():
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    return varlen_attn


def varlen_kernel(device_type: str, dtype: torch.dtype, dropout: float, *, torch_varlen: bool | None = None,
                  flash_attn: bool | None = None) -> str:
    """Which kernel attends a packed row: one of TORCH_VARLEN, FLASH_ATTN, PER_SEQUENCE_SDPA.

    torch_varlen / flash_attn say whether those are importable (default: look).
    """
    if device_type != "cuda" or dtype not in (torch.float16, torch.bfloat16) or dropout > 0:
        return PER_SEQUENCE_SDPA
    if torch_varlen if torch_varlen is not None else _torch_varlen() is not None:
        return TORCH_VARLEN
    if flash_attn if flash_attn is not None else importlib.util.find_spec("flash_attn") is not None:
        return FLASH_ATTN
    return PER_SEQUENCE_SDPA


def _varlen_attention(kernel: str, query, key, value, scaling, bounds: torch.Tensor, gqa: bool) -> torch.Tensor:
    """[1, H, T, D] query/key/value of one packed row -> [1, T, H, D] causal attention per sequence."""
    q, k, v = (t[0].transpose(0, 1) for t in (query, key, value))  # [T, H, D], as varlen kernels take them
    cu = bounds.to(device=q.device, dtype=torch.int32)
    longest = int((cu[1:] - cu[:-1]).max())
    if kernel == TORCH_VARLEN:
        # window (-1, 0): no limit to the left, nothing to the right = causal
        out = _torch_varlen()(q, k, v, cu, cu, longest, longest, scale=scaling, window_size=(-1, 0),
                              enable_gqa=gqa)
    else:
        from flash_attn import flash_attn_varlen_func  # handles fewer key/value heads itself

        out = flash_attn_varlen_func(q, k, v, cu, cu, longest, longest, dropout_p=0.0, softmax_scale=scaling,
                                     causal=True)
    return out.unsqueeze(0)


def packed_sdpa_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                          attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                          cu_seq_lens_q: torch.Tensor | None = None, **kwargs) -> tuple[torch.Tensor, None]:
    plain_causal = (kwargs.get("sliding_window") is None and kwargs.get("softcap") is None
                    and kwargs.get("position_bias") is None and getattr(module, "is_causal", True))
    if cu_seq_lens_q is None or query.shape[0] != 1 or query.shape[2] != key.shape[2] or not plain_causal:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    gqa = query.shape[1] != key.shape[1]
    kernel = varlen_kernel(query.device.type, query.dtype, dropout)
    if kernel != PER_SEQUENCE_SDPA:
        return _varlen_attention(kernel, query, key, value, scaling, cu_seq_lens_q, gqa), None
    bounds = cu_seq_lens_q.tolist()
    outputs = [F.scaled_dot_product_attention(query[:, :, s:e], key[:, :, s:e], value[:, :, s:e], dropout_p=dropout,
                                              scale=scaling, is_causal=True, enable_gqa=gqa)
               for s, e in zip(bounds[:-1], bounds[1:])]
    return torch.cat(outputs, dim=2).transpose(1, 2).contiguous(), None


def sequence_boundaries(position_ids: torch.Tensor) -> torch.Tensor:
    """Cumulative sequence starts of a packed [1, T] row whose positions restart at 0: [0, n1, n1+n2, ..., T]."""
    starts = torch.nonzero(position_ids[0] == 0).flatten()
    end = torch.tensor([position_ids.shape[1]], device=position_ids.device)
    return torch.cat([starts, end]).to(torch.int32)


AttentionInterface.register(NAME, packed_sdpa_attention)
AttentionMaskInterface.register(NAME, sdpa_mask)
