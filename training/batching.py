"""Causal-LM batches: padding-free packing or padding to a length quantile, and their loss.

Packed batches put every sequence of the batch in one row, with ``position_ids``
restarting at 0 per sequence and no attention mask: transformers' attention mask
builder (``masking_utils.find_packed_sequence_indices``) then keeps each sequence
attending only to itself, and no compute is spent on padding. The first token of each
packed sequence carries no label, so no sequence is trained to predict the next one.
``sample_ids`` (-1 = padding) lets the loss be averaged per sample as well as per token.
"""
from __future__ import annotations

import inspect
import math

import numpy as np
import torch
import torch.nn.functional as F

from training import packed_attention
from training.text_samples import IGNORE_INDEX

# Attention implementations whose masks honour packed position_ids (flex has no CPU backward).
PACKING_ATTENTION = {"sdpa", "eager", "flash_attention_2", "flash_attention_3"}


def collate_packed(samples: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
    input_ids, labels, positions, sample_ids = [], [], [], []
    for i, s in enumerate(samples):
        n = len(s["input_ids"])
        input_ids += s["input_ids"]
        labels += [IGNORE_INDEX] + s["labels"][1:]
        positions += list(range(n))
        sample_ids += [i] * n
    return {
        "input_ids": torch.tensor([input_ids]),
        "labels": torch.tensor([labels]),
        "position_ids": torch.tensor([positions]),
        "sample_ids": torch.tensor([sample_ids]),
    }


def padded_length(lengths: list[int], quantile: float, max_length: int) -> int:
    """The batch's padded length: the ``quantile`` of its lengths (0 = always pad to max_length)."""
    if quantile <= 0.0:
        return max_length
    return max(1, int(math.ceil(np.quantile(lengths, quantile))))


def collate_padded(samples: list[dict[str, list[int]]], *, pad_id: int, side: str, quantile: float,
                   max_length: int, keep: str = "end", min_length: int = 0) -> dict[str, torch.Tensor]:
    """Pad (or cut) every sequence to the batch's quantile length (at least ``min_length``).

    keep="end" cuts a longer sequence from its left, keeping the answer; keep="start" cuts it from
    its right, keeping the prompt (image tokens must stay whole).
    """
    target = max(padded_length([len(s["input_ids"]) for s in samples], quantile, max_length), min_length)
    rows = {"input_ids": [], "labels": [], "attention_mask": [], "position_ids": [], "sample_ids": []}
    for i, s in enumerate(samples):
        if keep == "start":
            ids, labels = s["input_ids"][:target], s["labels"][:target]
        else:
            ids, labels = s["input_ids"][-target:], s["labels"][-target:]
        n, pad = len(ids), target - len(ids)
        pieces = {
            "input_ids": (ids, [pad_id] * pad),
            "labels": (labels, [IGNORE_INDEX] * pad),
            "attention_mask": ([1] * n, [0] * pad),
            # Explicit positions so left padding does not shift them.
            "position_ids": (list(range(n)), [0] * pad),
            "sample_ids": ([i] * n, [-1] * pad),
        }
        for key, (real, filler) in pieces.items():
            rows[key].append(filler + real if side == "left" else real + filler)
    return {k: torch.tensor(v) for k, v in rows.items()}


def model_inputs(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    keys = ("input_ids", "attention_mask", "position_ids")
    return {k: batch[k] for k in keys if k in batch}


def _accepts_logits_mask(model: torch.nn.Module) -> bool:
    """Whether the model's forward projects only the positions of a boolean ``logits_to_keep`` mask.

    transformers' own classes slice with ``modeling_utils.slice_logits_to_keep``, which takes a
    [B, T] boolean mask; remote code may only know an int, so it gets full logits instead.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft wrapper
    return (type(base).__module__.startswith("transformers.")
            and "logits_to_keep" in inspect.signature(base.forward).parameters)


def attention_inputs(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The packed sequence boundaries packed_sdpa attends by (none for padded batches or other kernels)."""
    if getattr(model.config, "_attn_implementation", None) == packed_attention.NAME and "attention_mask" not in batch:
        return {"cu_seq_lens_q": packed_attention.sequence_boundaries(batch["position_ids"])}
    return {}


def forward_logits(model: torch.nn.Module, batch: dict[str, torch.Tensor], **extra) -> torch.Tensor:
    """Logits [N, V] at the N positions whose next token carries a label, in row-major order.

    Only those positions go through the vocabulary projection (prompt and padding tokens cost no
    lm_head), so the logits line up with ``next_token_targets(batch)``.
    """
    keep = next_token_mask(batch["labels"])
    extra.update(attention_inputs(model, batch))
    # use_cache=False matters: transformers only reads packed sequence boundaries from
    # position_ids when there is no KV cache; with one, packed sequences attend to each other.
    if _accepts_logits_mask(model):
        return model(**model_inputs(batch), **extra, use_cache=False, logits_to_keep=keep).logits
    return model(**model_inputs(batch), **extra, use_cache=False).logits[keep]


def next_token_mask(labels: torch.Tensor) -> torch.Tensor:
    """[B, T] bool: positions t whose next token t+1 has a label (the last position never does)."""
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE_INDEX
    return keep


def next_token_targets(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels [N], sample ids [N]) of the labelled next tokens, aligned with ``forward_logits``."""
    mask = batch["labels"][:, 1:] != IGNORE_INDEX
    return batch["labels"][:, 1:][mask], batch["sample_ids"][:, 1:][mask]


def token_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy [N] (in float32) of logits [N, V] against their labels [N]."""
    return F.cross_entropy(logits.float(), labels, reduction="none")


def per_sample_sums(losses: torch.Tensor, sample_ids: torch.Tensor,
                    n_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of token losses, number of labelled tokens) per sample of the batch."""
    zeros = torch.zeros(n_samples, dtype=losses.dtype, device=losses.device)
    return zeros.index_add(0, sample_ids, losses), zeros.index_add(0, sample_ids, torch.ones_like(losses))


def reduce_loss(losses: torch.Tensor, sample_ids: torch.Tensor, n_samples: int, kind: str) -> torch.Tensor:
    """TokenAveragedCrossEntropy: mean over answer tokens of the batch; SampleAveraged: mean of sample means."""
    if kind == "SampleAveragedCrossEntropy":
        sums, counts = per_sample_sums(losses, sample_ids, n_samples)
        has = counts > 0
        return (sums[has] / counts[has]).mean()
    return losses.sum() / max(1, losses.numel())
