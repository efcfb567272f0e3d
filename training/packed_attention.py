"""Attention for padding-free packed batches that only computes each sequence against itself.

With ``sdpa``, a packed row of total length T gets a [T, T] block-diagonal mask: every token
is scored against every other token of the row and most of that work is masked away, and the
masked CPU kernel is much slower than the causal one. ``packed_sdpa`` runs
``scaled_dot_product_attention(is_causal=True)`` once per packed sequence instead (sum of n_i^2
work, no mask), given the sequence boundaries ``cu_seq_lens_q`` (the flash-attention varlen
keyword that transformers passes through to the attention function). Without boundaries
(padded batches, generation with a KV cache) it is exactly transformers' ``sdpa``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

NAME = "packed_sdpa"


def packed_sdpa_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                          attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                          cu_seq_lens_q: torch.Tensor | None = None, **kwargs) -> tuple[torch.Tensor, None]:
    plain_causal = (kwargs.get("sliding_window") is None and kwargs.get("softcap") is None
                    and kwargs.get("position_bias") is None and getattr(module, "is_causal", True))
    if cu_seq_lens_q is None or query.shape[0] != 1 or query.shape[2] != key.shape[2] or not plain_causal:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    gqa = query.shape[1] != key.shape[1]
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
