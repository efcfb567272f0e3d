"""text_dpo_modeling: preference tuning on (prompt, chosen answer, rejected answer) rows.

A DPO-tuned model is a causal LM, so this problem type is the causal LM one with pairs: both
answers of a pair are chat-formatted like a Causal LM sample (prompt tokens masked) and go
through the model in one forward pass (packed padding-free when the model allows it). The
reference model of DPO / IPO / Hinge is the base with the LoRA adapter disabled (no second copy),
or, in full fine-tuning, a frozen copy loaded once (its memory cost is logged). SimPO and ORPO
are reference-free.
"""
from __future__ import annotations

import contextlib
import copy
from typing import Any

import torch

from studio.config.problem_types import CHOSEN_LOGP, REJECTED_LOGP, REWARD_ACCURACY, REWARD_MARGIN
from training import batching
from training.data import check_columns
from training.preference_losses import PairLogps, batch_loss, uses_reference
from training.problems import EvalContext, Evaluation, SplitData
from training.problems.causal_lm import CausalLMProblem
from training.text_samples import TextSample, encode, output_columns, preference_samples


class PreferenceProblem(CausalLMProblem):
    def __init__(self, cfg, logs, device):
        super().__init__(cfg, logs, device)
        self.reference: torch.nn.Module | None = None  # full fine-tuning only

    @property
    def loss_function(self) -> str:
        return self.cfg.training.loss_function or "DPOLoss"

    # ---- data ---------------------------------------------------------------------------
    def required_columns(self) -> list[str]:
        ds = self.cfg.dataset
        return [ds.input_column, *output_columns(self.cfg), ds.rejected_output_column] + (
            [ds.system_column] if ds.system_column else [])

    def build_datasets(self, train: SplitData, validation: SplitData) -> None:
        rejected = self.cfg.dataset.rejected_output_column
        for name, split in (("train", train), ("validation", validation)):
            check_columns(name, split.frame, self.required_columns())
        max_length = self.cfg.tokenizer.max_length
        self.train_pairs = preference_samples(train.frame, self.cfg, "train")
        self.validation_pairs = preference_samples(validation.frame, self.cfg, "validation")
        self.train_dataset = [self._encode_pair(p, max_length) for p in self.train_pairs]
        self.train_dataset = [p for p in self.train_dataset if all(_has_answer(s) for s in p)]
        self.validation_encoded = [self._encode_pair(p, max_length) for p in self.validation_pairs]
        # Perplexity / BLEU / judge read the chosen answers as the Causal LM targets.
        self.validation_samples = [chosen for chosen, _ in self.validation_pairs]
        self.validation_dataset = [chosen for chosen, _ in self.validation_encoded]
        self.logs.train(f"tokenized {len(self.train_dataset)} training and {len(self.validation_encoded)} "
                        f"validation preference pairs (chosen column {self.cfg.dataset.output_column!r}, "
                        f"rejected column {rejected!r}); loss {self.loss_function}, beta {self.cfg.training.beta:g}")

    def _encode_pair(self, pair: tuple[TextSample, TextSample], max_length: int) -> tuple[dict, dict]:
        return tuple(encode(self.processor, sample, max_length) for sample in pair)

    def train_lengths(self) -> list[int]:
        return [len(c["input_ids"]) + len(r["input_ids"]) for c, r in self.train_dataset]

    def collate_train(self, pairs):
        return self.collate([seq for pair in pairs for seq in pair])  # chosen, rejected, chosen, ...

    # ---- model --------------------------------------------------------------------------
    def build_model(self, load_kwargs: dict[str, Any]) -> torch.nn.Module:
        model = super().build_model(load_kwargs)
        if uses_reference(self.loss_function) and self.cfg.architecture.training_mode == "full":
            self.reference = copy.deepcopy(model).eval().requires_grad_(False)
            size = sum(p.numel() * p.element_size() for p in self.reference.parameters())
            self.logs.train(f"{self.loss_function} with full fine-tuning: a frozen reference copy of the model "
                            f"is kept in memory ({size / 2**20:.1f} MiB)")
        elif uses_reference(self.loss_function):
            self.logs.train(f"{self.loss_function}: the reference model is the base model with the adapter "
                            "disabled (no second copy in memory)")
        return model

    def pair_logps(self, model, batch) -> PairLogps:
        """Summed answer-token log-probabilities of each chosen/rejected sequence (reference too if used)."""
        n = int(batch["sample_ids"].max()) + 1
        losses, sample_ids = self.forward_losses(model, batch)
        sums, counts = batching.per_sample_sums(losses, sample_ids, n)
        logps = PairLogps(-sums[0::2], -sums[1::2], counts[0::2], counts[1::2])
        if uses_reference(self.loss_function):
            with torch.no_grad(), self._reference_model(model) as reference:
                ref_losses, ref_ids = self.forward_losses(reference, batch)
                ref_sums, _ = batching.per_sample_sums(ref_losses, ref_ids, n)
            logps.ref_chosen, logps.ref_rejected = -ref_sums[0::2], -ref_sums[1::2]
        return logps

    def _reference_model(self, model):
        if self.reference is not None:
            if next(self.reference.parameters()).device != self.device:
                self.reference.to(self.device)
            return contextlib.nullcontext(self.reference)
        if hasattr(model, "disable_adapter"):
            return _adapter_disabled(model)
        raise RuntimeError("a reference-model loss needs LoRA/QLoRA or full fine-tuning")

    def training_loss(self, model, batch) -> torch.Tensor:
        tr = self.cfg.training
        loss, _ = batch_loss(self.loss_function, self.pair_logps(model, batch), tr.beta, tr.simpo_gamma)
        return loss

    # ---- evaluation ---------------------------------------------------------------------
    @torch.no_grad()
    def preference_statistics(self, model, report) -> dict[str, float]:
        tr, bs = self.cfg.training, self.inference_batch_size()
        total, correct, margin, chosen, rejected, pairs = 0.0, 0.0, 0.0, 0.0, 0.0, len(self.validation_encoded)
        for start in range(0, pairs, bs):
            chunk = self.validation_encoded[start:start + bs]
            batch = {k: v.to(self.device) for k, v in self.collate([s for p in chunk for s in p]).items()}
            logps = self.pair_logps(model, batch)
            loss, result = batch_loss(self.loss_function, logps, tr.beta, tr.simpo_gamma)
            total += float(loss) * len(chunk)
            correct += float((result.chosen_rewards > result.rejected_rewards).float().sum())
            margin += float((result.chosen_rewards - result.rejected_rewards).sum())
            chosen += float(logps.chosen.sum())
            rejected += float(logps.rejected.sum())
            report(min(1.0, (start + bs) / pairs) * 0.3)
        n = max(1, pairs)
        return {"loss": total / n, REWARD_ACCURACY: correct / n, REWARD_MARGIN: margin / n,
                CHOSEN_LOGP: chosen / n, REJECTED_LOGP: rejected / n}

    def evaluate(self, model, context: EvalContext) -> Evaluation:
        model.eval()
        stats = self.preference_statistics(model, context.report)
        inner = EvalContext(context.step, context.epoch, context.final,
                            report=lambda f: context.report(0.3 + 0.7 * f))
        result = super().evaluate(model, inner)  # Perplexity / BLEU / judge on the chosen answers
        result.loss = stats.pop("loss")
        result.metrics = {**stats, **result.metrics}  # every preference statistic, selected or not
        result.predictions["rejected"] = [rejected.answer for _, rejected in self.validation_pairs]
        return result


@contextlib.contextmanager
def _adapter_disabled(model):
    with model.disable_adapter():
        yield model


def _has_answer(sample: dict) -> bool:
    return any(label != -100 for label in sample["labels"])


PROBLEM = PreferenceProblem
