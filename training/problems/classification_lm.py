"""text_causal_classification_modeling: a decoder LLM with a classification head on its last token.

AutoModelForSequenceClassification on the causal backbone (the ``score`` head is new and
always trained in full, also under LoRA); labels, losses and metrics from ``training.classifier``.
"""
from __future__ import annotations

from typing import Any

import torch

from training import batching
from training.classifier import ClassifierProblem, output_columns
from training.modeling import backbone_config, max_positions
from training.problems import SplitData
from training.text_samples import load_tokenizer


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
        from transformers import AutoModelForSequenceClassification

        cfg = self.cfg
        self.processor = tokenizer = load_tokenizer(cfg)
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
        self.log_class_counts("texts")

    def train_lengths(self) -> list[int]:
        return [len(s["input_ids"]) for s in self.train_dataset]

    def model_inputs(self, samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        tok, cfg = self.processor, self.cfg.tokenizer
        width = batching.padded_length([len(s["input_ids"]) for s in samples], cfg.padding_quantile, cfg.max_length)
        ids, mask = [], []
        for s in samples:
            row = s["input_ids"][:width]  # classification keeps the start of an over-long text
            pad = width - len(row)
            left = cfg.padding_side == "left"
            ids.append([tok.pad_token_id] * pad + row if left else row + [tok.pad_token_id] * pad)
            mask.append([0] * pad + [1] * len(row) if left else [1] * len(row) + [0] * pad)
        return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}

    def collate_train(self, samples):
        return {**self.model_inputs(samples), "targets": self.targets_of(samples)}

    def logits(self, model, batch: dict[str, Any]) -> torch.Tensor:
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits

    def prediction_columns(self) -> dict[str, list]:
        return {"prompt": [s["text"] for s in self.validation_dataset]}


PROBLEM = ClassificationLMProblem
