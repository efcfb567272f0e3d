"""Causal-LM batches: padding-free packing or padding to a length quantile, and their loss.

Packed batches put every sequence of the batch in one row, with ``position_ids``
restarting at 0 per sequence and no attention mask: transformers' attention mask
builder (``masking_utils.find_packed_sequence_indices``) then keeps each sequence
attending only to itself, and no compute is spent on padding. The first token of each
packed sequence carries no label, so no sequence is trained to predict the next one.
``sample_ids`` (-1 = padding) lets the loss be averaged per sample as well as per token.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

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
                   max_length: int) -> dict[str, torch.Tensor]:
    """Pad (or cut, keeping the end where the answer is) every sequence to the batch's quantile length."""
    target = padded_length([len(s["input_ids"]) for s in samples], quantile, max_length)
    rows = {"input_ids": [], "labels": [], "attention_mask": [], "position_ids": [], "sample_ids": []}
    for i, s in enumerate(samples):
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


def forward_logits(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    # use_cache=False matters: transformers only reads packed sequence boundaries from
    # position_ids when there is no KV cache; with one, packed sequences attend to each other.
    return model(**model_inputs(batch), use_cache=False).logits


def token_losses(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-position next-token loss (0 where unlabelled) and the mask of labelled positions, both [B, T-1]."""
    shift_logits = logits[:, :-1].float()
    shift_labels = labels[:, 1:]
    losses = F.cross_entropy(shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1),
                             ignore_index=IGNORE_INDEX, reduction="none").view_as(shift_labels)
    return losses, shift_labels != IGNORE_INDEX


def per_sample_sums(losses: torch.Tensor, mask: torch.Tensor, sample_ids: torch.Tensor,
                    n_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of token losses, number of labelled tokens) per sample of the batch."""
    ids = sample_ids[:, 1:].clamp(min=0).reshape(-1)
    weights = mask.reshape(-1).to(losses.dtype)
    sums = torch.zeros(n_samples, dtype=losses.dtype, device=losses.device).index_add(0, ids, losses.reshape(-1) * weights)
    counts = torch.zeros(n_samples, dtype=losses.dtype, device=losses.device).index_add(0, ids, weights)
    return sums, counts


def reduce_loss(losses: torch.Tensor, mask: torch.Tensor, sample_ids: torch.Tensor, n_samples: int,
                kind: str) -> torch.Tensor:
    """TokenAveragedCrossEntropy: mean over answer tokens of the batch; SampleAveraged: mean of sample means."""
    if kind == "SampleAveragedCrossEntropy":
        sums, counts = per_sample_sums(losses, mask, sample_ids, n_samples)
        has = counts > 0
        return (sums[has] / counts[has]).mean()
    return (losses * mask).sum() / mask.sum().clamp(min=1)
