"""Batch order: random, or grouped by length so each batch pads (or packs) little."""
from __future__ import annotations

import random


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, lengths: list[int] | None) -> list[list[int]]:
    """The batches of one epoch as index lists; the same (seed, epoch) always gives the same order.

    With lengths: shuffle, cut into mega-batches of 50 batches, sort each by length, cut
    into batches and shuffle the batch order, so similar lengths share a batch while the
    epoch stays random (the H2O LLM Studio / HF "group by length" recipe).
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(n))
    rng.shuffle(order)
    if lengths is not None:
        mega = batch_size * 50
        grouped: list[int] = []
        for start in range(0, n, mega):
            chunk = order[start:start + mega]
            grouped += sorted(chunk, key=lambda i: lengths[i], reverse=True)
        order = grouped
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if lengths is not None:
        rng.shuffle(batches)
    return batches

