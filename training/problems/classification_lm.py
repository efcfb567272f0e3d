"""text_causal_classification_modeling: a decoder LLM with a classification head on its last token.

AutoModelForSequenceClassification on the causal backbone (the ``score`` head is new and
always trained in full, also under LoRA); labels, losses and metrics from ``training.classifier``.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch

from training import batching
from training.classifier import ClassifierProblem, output_columns
from training.modeling import backbone_config, json_kwargs, max_positions
from training.problems import SplitData
from training.text_samples import ensure_pad_token


class ClassificationLMProblem(ClassifierProblem):
    lora_task_type = "SEQ_CLS"
    head_modules = ("score",)

    def __init__(self, cfg, logs, device):
        super().__init__(cfg, logs, device)
        self.config = None

    def required_columns(self) -> list[str]:
        return [self.cfg.dataset.input_column] + output_columns(self.cfg)

    # ---- model --------------------------------------------------------------------------
    def max_position_embeddings(self) -> int | None:
        self.config = backbone_config(self.cfg)
        return max_positions(self.config)

    def build_model(self, load_kwargs: dict[str, Any]) -> torch.nn.Module:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        cfg = self.cfg
        tokenizer = AutoTokenizer.from_pretrained(
            cfg.llm_backbone, revision=cfg.environment.huggingface_branch,
            trust_remote_code=cfg.environment.trust_remote_code, **json_kwargs(cfg.tokenizer.tokenizer_kwargs))
        ensure_pad_token(tokenizer)
        tokenizer.padding_side = cfg.tokenizer.padding_side
        self.processor = tokenizer
        config = self.config or backbone_config(cfg)
        self.configure_head(config)
        # The score head reads the last non-padding token, found through pad_token_id.
        config.pad_token_id = tokenizer.pad_token_id
        # A backbone that already has a head of another size gets a fresh one.
        model = AutoModelForSequenceClassification.from_pretrained(
            cfg.llm_backbone, config=config, ignore_mismatched_sizes=True, **load_kwargs)
        return model

    # ---- data ---------------------------------------------------------------------------
    def build_datasets(self, train: SplitData, validation: SplitData) -> None:
        labels = self.label_space()
        column, max_length = self.cfg.dataset.input_column, self.cfg.tokenizer.max_length

        def encode(split: SplitData, name: str) -> list[dict[str, Any]]:
            texts = ["" if v is None else str(v) for v in split.frame[column].tolist()]
            ids = self.processor(texts, add_special_tokens=True, truncation=True, max_length=max_length)["input_ids"]
            targets = labels.targets(split.frame, name)
            return [{"input_ids": i, "target": t, "text": x} for i, t, x in zip(ids, targets, texts)]

        self.train_dataset = encode(train, "train")
        self.validation_dataset = encode(validation, "validation")
        counts = self._class_counts(self.train_dataset)
        self.logs.train(f"tokenized {len(self.train_dataset)} training and {len(self.validation_dataset)} validation "
                        f"texts; training samples per class: "
                        + ", ".join(f"{n} {c}" for n, c in zip(labels.names[:20], counts)))

    @staticmethod
    def _class_counts(samples) -> list[int]:
        return np.sum([s["target"] for s in samples], axis=0).astype(int).tolist()

    def train_lengths(self) -> list[int]:
        return [len(s["input_ids"]) for s in self.train_dataset]

    def collate(self, samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        tok, cfg = self.processor, self.cfg.tokenizer
        width = batching.padded_length([len(s["input_ids"]) for s in samples], cfg.padding_quantile, cfg.max_length)
        ids, mask = [], []
        for s in samples:
            row = s["input_ids"][:width]  # classification keeps the start of an over-long text
            pad = width - len(row)
            left = cfg.padding_side == "left"
            ids.append([tok.pad_token_id] * pad + row if left else row + [tok.pad_token_id] * pad)
            mask.append([0] * pad + [1] * len(row) if left else [1] * len(row) + [0] * pad)
        return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask),
                "targets": torch.tensor(np.stack([s["target"] for s in samples]))}

    def collate_train(self, samples):
        return self.collate(samples)

    def logits(self, model, batch: dict[str, Any]) -> torch.Tensor:
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits

    def training_loss(self, model, batch) -> torch.Tensor:
        with self.autocast():
            logits = self.logits(model, batch)
        return self.loss_from_logits(logits, batch["targets"])

    # ---- evaluation ---------------------------------------------------------------------
    def validation_batches(self) -> Iterator[tuple[dict[str, Any], torch.Tensor]]:
        bs = self.inference_batch_size()
        for start in range(0, len(self.validation_dataset), bs):
            batch = self.collate(self.validation_dataset[start:start + bs])
            yield batch, batch.pop("targets")

    def prediction_columns(self) -> dict[str, list]:
        return {"prompt": [s["text"] for s in self.validation_dataset]}

    def save_model(self, model, out_dir) -> None:
        from training.problems import merged_model

        merged = merged_model(model)
        if hasattr(merged.config, "use_cache"):
            merged.config.use_cache = True  # training turned the cache off for gradient checkpointing
        merged.save_pretrained(str(out_dir), safe_serialization=True)
        self.processor.save_pretrained(str(out_dir))


PROBLEM = ClassificationLMProblem
