"""text_causal_language_modeling: chat-formatted prompt/answer pairs, loss on answer tokens only."""
from __future__ import annotations

import inspect
import math
from typing import Any

import pandas as pd
import torch

from studio.config.problem_types import LLM_JUDGE
from training import batching, fused_loss, packed_attention
from training.data import check_columns
from training.metrics import text as text_metrics
from training.modeling import backbone_config, max_positions
from training.problems import EvalContext, Evaluation, Problem, SplitData
from training.text_samples import (
    conversation_column, encode, load_tokenizer, required_text_columns, rows_to_samples, set_chat_template,
)

GENERATED_METRICS = ("BLEU", "QA_Accuracy", LLM_JUDGE)


class CausalLMProblem(Problem):
    lora_task_type = "CAUSAL_LM"

    def __init__(self, cfg, logs, device):
        super().__init__(cfg, logs, device)
        self.config = None
        self.tokenizer = None  # the text tokenizer (the processor itself for text-only models)
        self.packing = False
        self.fused_loss = False  # liger-kernel's fused linear + cross-entropy (CUDA only)

    # ---- data ---------------------------------------------------------------------------
    def required_columns(self) -> list[str]:
        if self.cfg.dataset.unroll_conversations:
            # input_column or a "messages" column: checked once the table is known (build_datasets)
            return [self.cfg.dataset.system_column] if self.cfg.dataset.system_column else []
        return required_text_columns(self.cfg)

    def build_datasets(self, train: SplitData, validation: SplitData) -> None:
        for name, split in (("train", train), ("validation", validation)):
            check_columns(name, split.frame, required_text_columns(self.cfg, split.frame.columns))
        max_length = self.cfg.tokenizer.max_length
        self.train_samples = rows_to_samples(train.frame, self.cfg, "train")
        self.validation_samples = rows_to_samples(validation.frame, self.cfg, "validation")
        self.train_dataset = [encode(self.processor, s, max_length) for s in self.train_samples]
        self.validation_dataset = [encode(self.processor, s, max_length) for s in self.validation_samples]
        self.train_dataset = [s for s in self.train_dataset if any(l != -100 for l in s["labels"])]
        if self.cfg.dataset.unroll_conversations:
            self.logs.train(f"unrolled conversations from column "
                            f"{conversation_column(self.cfg, train.frame.columns)!r}: {len(train.frame)} rows -> "
                            f"{len(self.train_samples)} training samples")
        lengths = [len(s["input_ids"]) for s in self.train_dataset]
        self.logs.train(f"tokenized {len(self.train_dataset)} training and {len(self.validation_dataset)} "
                        f"validation samples; train tokens per sample: mean {sum(lengths) / len(lengths):.1f}, "
                        f"max {max(lengths)} (max_length {max_length})")

    def train_lengths(self) -> list[int]:
        return [len(s["input_ids"]) for s in self.train_dataset]

    def collate(self, samples: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        if self.packing:
            return batching.collate_packed(samples)
        return batching.collate_padded(
            samples, pad_id=self.processor.pad_token_id, side=self.cfg.tokenizer.padding_side,
            quantile=self.cfg.tokenizer.padding_quantile, max_length=self.cfg.tokenizer.max_length)

    def collate_train(self, samples):
        return self.collate(samples)

    # ---- model --------------------------------------------------------------------------
    def max_position_embeddings(self) -> int | None:
        self.config = backbone_config(self.cfg)
        return max_positions(self.config)

    def build_model(self, load_kwargs: dict[str, Any]) -> torch.nn.Module:
        from transformers import AutoModelForCausalLM

        cfg = self.cfg
        tokenizer = load_tokenizer(cfg)
        self.logs.train(f"chat template: {set_chat_template(tokenizer, cfg)}")
        self.processor = self.tokenizer = tokenizer
        model = AutoModelForCausalLM.from_pretrained(cfg.llm_backbone, config=self.config or backbone_config(cfg),
                                                     **load_kwargs)
        self.packing = self._packing_supported(model)
        per_sequence = self.packing and model.config._attn_implementation == "sdpa"
        if per_sequence:
            # the same sdpa kernels, run per packed sequence instead of over a block-diagonal mask
            model.set_attn_implementation(packed_attention.NAME)
        kernel = packed_attention.varlen_kernel(self.device.type, self.autocast_dtype or torch.float32,
                                                getattr(model.config, "attention_dropout", 0.0) or 0.0)
        self.logs.train("batches: padding-free packing (sequences concatenated, positions restart per sequence"
                        + (f", attention computed per sequence: {kernel})" if per_sequence else ")")
                        + (f"; padding_quantile {cfg.tokenizer.padding_quantile:g} has no effect: nothing is padded"
                           if cfg.tokenizer.padding_quantile != 1.0 else "")
                        if self.packing else
                        f"batches: padded to the {cfg.tokenizer.padding_quantile:g} length quantile, "
                        f"{cfg.tokenizer.padding_side} side")
        self._choose_loss_kernel(model)
        return model

    def _choose_loss_kernel(self, model) -> None:
        self.fused_loss, reason = fused_loss.fused_loss_choice(
            self.device.type, self.cfg.training.loss_function, model.config.model_type, fused_loss.liger_model_types())
        self.logs.system(reason)
        if self.fused_loss:
            fused_loss.apply(model)

    def _packing_supported(self, model) -> bool:
        """Packing is exact only where transformers builds the mask from packed position_ids."""
        attn = getattr(model.config, "_attn_implementation", None)
        return (self.cfg.training.batch_size > 1
                and attn in batching.PACKING_ATTENTION
                and type(model).__module__.startswith("transformers.")  # not remote code we cannot vouch for
                and "position_ids" in inspect.signature(model.forward).parameters)

    def forward_losses(self, model, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss [N], sample id [N]) of every labelled next token of the batch."""
        labels, sample_ids = batching.next_token_targets(batch)
        with self.autocast():
            logits = batching.forward_logits(model, batch)
        return batching.token_losses(logits, labels), sample_ids

    def training_loss(self, model, batch) -> torch.Tensor:
        if self.fused_loss:  # token-averaged, computed inside the forward without logits
            with self.autocast():
                return model(**batching.model_inputs(batch), **batching.attention_inputs(model, batch),
                             labels=batch["labels"], use_cache=False).loss
        losses, sample_ids = self.forward_losses(model, batch)
        n = int(batch["sample_ids"].max()) + 1
        return batching.reduce_loss(losses, sample_ids, n, self.cfg.training.loss_function)

    # ---- evaluation ---------------------------------------------------------------------
    @torch.no_grad()
    def sample_losses(self, model, report) -> list[float]:
        """Mean answer-token loss of every validation sample, and their token counts."""
        bs = self.inference_batch_size()
        sums, counts = [], []
        for start in range(0, len(self.validation_dataset), bs):
            chunk = self.validation_dataset[start:start + bs]
            batch = {k: v.to(self.device) for k, v in self.collate(chunk).items()}
            losses, sample_ids = self.forward_losses(model, batch)
            s, c = batching.per_sample_sums(losses, sample_ids, len(chunk))
            sums += s.tolist()
            counts += c.tolist()
            report(min(1.0, (start + bs) / len(self.validation_dataset)) * 0.5)
        return sums, counts

    def evaluate(self, model, context: EvalContext) -> Evaluation:
        model.eval()
        selected = self.cfg.prediction.metrics or []
        sums, counts = self.sample_losses(model, context.report)
        token_mean = sum(sums) / max(1.0, sum(counts))
        sample_means = [s / c if c else float("nan") for s, c in zip(sums, counts)]
        labelled = [m for m in sample_means if not math.isnan(m)]
        loss = (sum(labelled) / max(1, len(labelled))
                if self.cfg.training.loss_function == "SampleAveragedCrossEntropy" else token_mean)
        table = pd.DataFrame({
            "row": [s.row for s in self.validation_samples],  # the user's row number, from 1
            "prompt": [s.messages[-1]["content"] if s.messages else "" for s in self.validation_samples],
            "target": [s.answer for s in self.validation_samples],
            "loss": sample_means,
        })
        result = Evaluation(loss=loss)
        if "Perplexity" in selected:
            result.metrics["Perplexity"] = text_metrics.perplexity(token_mean)
            table["Perplexity"] = [text_metrics.perplexity(m) if not math.isnan(m) else float("nan")
                                   for m in sample_means]
        if any(m in selected for m in GENERATED_METRICS):
            predictions = self.generate(model, self.validation_dataset, lambda f: context.report(0.5 + 0.5 * f))
            table["prediction"] = predictions
            targets = table["target"].tolist()
            if "BLEU" in selected:
                result.metrics["BLEU"] = text_metrics.corpus_bleu(predictions, targets)
                table["BLEU"] = [text_metrics.sentence_bleu(p, t) for p, t in zip(predictions, targets)]
            if "QA_Accuracy" in selected:
                result.metrics["QA_Accuracy"] = text_metrics.qa_accuracy(predictions, targets)
                table["QA_Accuracy"] = [text_metrics.qa_correct(p, t) for p, t in zip(predictions, targets)]
            if LLM_JUDGE in selected:
                self._judge(table, result)
        else:
            table["prediction"] = None
        model.train()
        result.predictions = table
        return result

    def _judge(self, table: pd.DataFrame, result: Evaluation) -> None:
        try:
            from training.metrics import llm_judge
        except ModuleNotFoundError as exc:
            if exc.name != "training.metrics.llm_judge":
                raise
            result.failed[LLM_JUDGE] = "the judge module training.metrics.llm_judge is not installed in this build"
            return
        try:
            scores, explanations = llm_judge.score(table["prompt"].tolist(), table["prediction"].tolist(),
                                                   table["target"].tolist(), self.cfg)
        except Exception as exc:  # a judge outage must not fail the training run
            result.failed[LLM_JUDGE] = f"{type(exc).__name__}: {exc}"
            return
        table[LLM_JUDGE] = scores
        table["judge_explanation"] = explanations
        valid = [s for s in scores if s is not None and not math.isnan(s)]
        if valid:
            result.metrics[LLM_JUDGE] = sum(valid) / len(valid)
        else:
            result.failed[LLM_JUDGE] = "the judge returned no usable score"

    def generation_inputs(self, samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Model inputs besides the prompt ids for generating from ``samples`` (e.g. pixel_values)."""
        return {}

    def generation_options(self) -> dict[str, Any]:
        """``generate`` keyword arguments from the prediction.* settings."""
        pr, tok = self.cfg.prediction, self.tokenizer
        sampling = pr.temperature > 0
        options = dict(max_new_tokens=pr.max_length_inference, min_new_tokens=pr.min_length_inference,
                       num_beams=pr.num_beams, repetition_penalty=pr.repetition_penalty, do_sample=sampling,
                       pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, use_cache=True)
        if sampling:
            options.update(temperature=pr.temperature, top_p=pr.top_p, top_k=pr.top_k or None)
        else:  # keep model generation_config sampling defaults from leaking into greedy decoding
            options.update(temperature=None, top_p=None, top_k=None)
        return options

    @torch.no_grad()
    def generate(self, model, samples: list[dict[str, Any]], report=lambda f: None) -> list[str]:
        """Batched generation from each sample's ``prompt_ids`` with left padding and the prediction.* settings."""
        tok, options = self.tokenizer, self.generation_options()
        bs = self.inference_batch_size()
        outputs: list[str] = []
        for start in range(0, len(samples), bs):
            chunk = samples[start:start + bs]
            prompts = [s["prompt_ids"] for s in chunk]
            width = max(len(p) for p in prompts)
            ids = torch.tensor([[tok.pad_token_id] * (width - len(p)) + p for p in prompts], device=self.device)
            mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
            extra = {k: v.to(self.device) for k, v in self.generation_inputs(chunk).items()}
            with self.autocast():
                generated = model.generate(input_ids=ids, attention_mask=mask, **extra, **options)
            outputs += [t.strip() for t in tok.batch_decode(generated[:, width:], skip_special_tokens=True)]
            report(min(1.0, (start + bs) / len(samples)))
        return outputs


PROBLEM = CausalLMProblem
