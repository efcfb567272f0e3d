"""Preference losses of text_dpo_modeling, on per-sequence log-probabilities.

Every loss takes a :class:`PairLogps` (summed answer-token log-probabilities and answer token
counts of the chosen and rejected answers, and the reference model's sums where the loss uses
one) and returns one loss per pair plus the implicit rewards the metrics read. The formulas are
TRL's (``DPOTrainer`` loss types sigmoid / ipo / hinge, ``CPOTrainer`` loss type simpo,
``ORPOTrainer``); tests/engine/test_preference_losses.py holds them to TRL to 1e-5.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: Losses that compare the policy with a frozen reference model (the others are reference-free).
REFERENCE_LOSSES = {"DPOLoss", "IPOLoss", "HingeLoss"}


@dataclass
class PairLogps:
    chosen: torch.Tensor  # [B] summed log-probabilities of the chosen answers' tokens
    rejected: torch.Tensor  # [B]
    chosen_tokens: torch.Tensor  # [B] answer token counts
    rejected_tokens: torch.Tensor  # [B]
    ref_chosen: torch.Tensor | None = None  # [B] the reference model's sums (reference losses only)
    ref_rejected: torch.Tensor | None = None


@dataclass
class PairLoss:
    losses: torch.Tensor  # [B] one loss per pair; the batch loss is their mean (+ ORPO's NLL term)
    chosen_rewards: torch.Tensor  # [B] detached
    rejected_rewards: torch.Tensor  # [B] detached


def uses_reference(loss_function: str) -> bool:
    return loss_function in REFERENCE_LOSSES


def pair_loss(loss_function: str, logps: PairLogps, beta: float, simpo_gamma: float = 0.5) -> PairLoss:
    """The loss of each pair and its rewards (beta × log-ratio, or beta × mean logp when reference-free)."""
    if loss_function in REFERENCE_LOSSES:
        chosen_ratio = logps.chosen - logps.ref_chosen
        rejected_ratio = logps.rejected - logps.ref_rejected
        delta = chosen_ratio - rejected_ratio
        if loss_function == "DPOLoss":
            losses = -F.logsigmoid(beta * delta)
        elif loss_function == "HingeLoss":
            losses = torch.relu(1 - beta * delta)
        else:  # IPO on per-token log-ratios, as TRL normalises it with the IPO authors
            ipo_delta = (chosen_ratio / logps.chosen_tokens.clamp(min=1)
                         - rejected_ratio / logps.rejected_tokens.clamp(min=1))
            losses = (ipo_delta - 1 / (2 * beta)) ** 2
        return PairLoss(losses, (beta * chosen_ratio).detach(), (beta * rejected_ratio).detach())
    chosen_mean = logps.chosen / logps.chosen_tokens.clamp(min=1)
    rejected_mean = logps.rejected / logps.rejected_tokens.clamp(min=1)
    if loss_function == "SimPOLoss":
        losses = -F.logsigmoid(beta * (chosen_mean - rejected_mean) - simpo_gamma)
    elif loss_function == "ORPOLoss":
        chosen_mean, rejected_mean = chosen_mean.float(), rejected_mean.float()
        log_odds = (chosen_mean - rejected_mean) - (_log1mexp(chosen_mean) - _log1mexp(rejected_mean))
        losses = -beta * F.logsigmoid(log_odds)
    else:
        raise ValueError(f"unknown preference loss {loss_function!r}")
    return PairLoss(losses, (beta * chosen_mean).detach(), (beta * rejected_mean).detach())


def batch_loss(loss_function: str, logps: PairLogps, beta: float, simpo_gamma: float) -> tuple[torch.Tensor, PairLoss]:
    """The scalar training loss of a batch of pairs; ORPO adds the chosen answers' token-mean NLL."""
    result = pair_loss(loss_function, logps, beta, simpo_gamma)
    loss = result.losses.mean()
    if loss_function == "ORPOLoss":
        loss = loss - logps.chosen.sum() / logps.chosen_tokens.sum().clamp(min=1)
    return loss, result


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x < 0, stable at both ends (as in TRL's ORPO)."""
    return torch.where(x > -0.6931472, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))
