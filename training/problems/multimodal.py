"""multimodal_causal_language_modeling: image + question -> answer, with AutoModelForImageTextToText.

Built on the causal LM problem: the same chat-formatted samples, answer-only labels, losses,
Perplexity/BLEU/QA_Accuracy evaluation and predictions table. What differs: the user turn
opens with the processor's image token (expanded by the processor to the image's patch
tokens), batches carry the image tensors, and sequences are padded, never packed. The
tokenizer is loaded by AutoTokenizer with tokenizer_kwargs (as for text) and replaces the
processor's own; a batch is padded to its padding_quantile length, cutting only answer tokens
(from the right) so no image token is ever dropped.
"""
from __future__ import annotations

from typing import Any

import torch

from training import batching
from training.data import row_numbers
from training.errors import DatasetError, RunError
from training.images import check_images, load_image
from training.modeling import backbone_config
from training.problems import SplitData
from training.problems.causal_lm import CausalLMProblem
from training.text_samples import (IGNORE_INDEX, TextSample, load_tokenizer, render, rows_to_samples,
                                   set_chat_template)

MAX_BAD_ROWS_LISTED = 20


class MultimodalProblem(CausalLMProblem):
    lora_task_type = "CAUSAL_LM"
    # The vision tower and projector stay frozen under LoRA unless named in lora_target_modules;
    # the language model's linear layers are adapted.
    lora_exclude = CausalLMProblem.lora_exclude + ("vision_tower", "multi_modal_projector")

    def required_columns(self) -> list[str]:
        return super().required_columns() + [self.cfg.dataset.image_column]

    # ---- model --------------------------------------------------------------------------
    def build_model(self, load_kwargs: dict[str, Any]) -> torch.nn.Module:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        cfg = self.cfg
        self.processor = AutoProcessor.from_pretrained(
            cfg.llm_backbone, revision=cfg.environment.huggingface_branch,
            trust_remote_code=cfg.environment.trust_remote_code)
        self.image_token = getattr(self.processor, "image_token", None)
        if getattr(self.processor, "tokenizer", None) is None or not self.image_token:
            raise RunError(f"llm_backbone: the processor of {cfg.llm_backbone} has no tokenizer or image token; "
                           "multimodal_causal_language_modeling needs an image-text-to-text model")
        # tokenizer_kwargs go to AutoTokenizer, as for every text model (passing them to AutoProcessor
        # would hand use_fast to the image processor too).
        self.tokenizer = self.processor.tokenizer = load_tokenizer(cfg)
        self.logs.train(f"chat template: {set_chat_template(self.tokenizer, cfg)}; image slot "
                        f"{self.image_token!r} at the start of the user turn")
        self.packing = False  # image tokens must stay in one row with their pixel tensors
        self.logs.train(f"batches: padded to the {cfg.tokenizer.padding_quantile:g} length quantile, "
                        f"{cfg.tokenizer.padding_side} side (longer samples lose answer tokens, never image tokens)")
        return AutoModelForImageTextToText.from_pretrained(cfg.llm_backbone, config=self.config or backbone_config(cfg),
                                                           **load_kwargs)

    # ---- data ---------------------------------------------------------------------------
    def observe_data(self, train: SplitData, validation: SplitData) -> None:
        column = self.cfg.dataset.image_column
        for name, split in (("train", train), ("validation", validation)):  # fail before the model loads
            check_images(split.frame[column].tolist(), rows=row_numbers(split.frame), root=split.root,
                         column=column, split=name)

    def build_datasets(self, train: SplitData, validation: SplitData) -> None:
        self.train_samples = rows_to_samples(train.frame, self.cfg, "train")
        self.validation_samples = rows_to_samples(validation.frame, self.cfg, "validation")
        self.train_dataset = self.encode_split(self.train_samples, train, "train")
        self.validation_dataset = self.encode_split(self.validation_samples, validation, "validation")
        lengths = self.train_lengths()
        self.logs.train(f"tokenized {len(self.train_dataset)} training and {len(self.validation_dataset)} "
                        f"validation samples with images; tokens per sample: mean {sum(lengths) / len(lengths):.1f}, "
                        f"max {max(lengths)} (max_length {self.cfg.tokenizer.max_length})")

    def encode_split(self, samples: list[TextSample], split: SplitData, name: str) -> list[dict[str, Any]]:
        """Prompt ids with the image slot expanded by the processor; labels on answer tokens only.

        Only the answer is ever cut (a cut through the image tokens would break the model), so a
        prompt longer than max_length is an error naming the rows.
        """
        image_col, max_length = self.cfg.dataset.image_column, self.cfg.tokenizer.max_length
        cells = split.frame[image_col].tolist()
        encoded, too_long = [], []
        for sample in samples:
            messages = [dict(m) for m in sample.messages]
            messages[-1]["content"] = f"{self.image_token}\n{messages[-1]['content']}"
            prompt_text, answer_text = render(self.tokenizer, messages, sample.answer)
            image = load_image(cells[sample.position], root=split.root, row=sample.row, column=image_col, split=name)
            prompt = self.processor(images=[image], text=[prompt_text], add_special_tokens=False)["input_ids"][0]
            prompt = list(prompt.tolist() if hasattr(prompt, "tolist") else prompt)
            answer = self.tokenizer(answer_text, add_special_tokens=False)["input_ids"]
            if len(prompt) >= max_length:
                too_long.append(f"row {sample.row} ({len(prompt)} tokens)")
                continue
            answer = answer[:max_length - len(prompt)]
            encoded.append({"input_ids": prompt + answer, "labels": [IGNORE_INDEX] * len(prompt) + answer,
                            "prompt_ids": prompt, "cell": cells[sample.position], "root": split.root, "row": sample.row,
                            "split": name})
        if too_long:
            more = f"; and {len(too_long) - MAX_BAD_ROWS_LISTED} more" if len(too_long) > MAX_BAD_ROWS_LISTED else ""
            raise DatasetError(f"tokenizer.max_length {max_length} is too short for the image tokens and question of "
                               f"{name} " + "; ".join(too_long[:MAX_BAD_ROWS_LISTED]) + more
                               + ": raise tokenizer.max_length")
        return encoded

    def image_inputs(self, samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        column = self.cfg.dataset.image_column
        images = [load_image(s["cell"], root=s["root"], row=s["row"], column=column, split=s["split"])
                  for s in samples]
        return dict(self.processor.image_processor(images, return_tensors="pt"))

    def collate(self, samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = batching.collate_padded(samples, pad_id=self.tokenizer.pad_token_id,
                                        side=self.cfg.tokenizer.padding_side,
                                        quantile=self.cfg.tokenizer.padding_quantile,
                                        max_length=self.cfg.tokenizer.max_length, keep="start",
                                        min_length=max(len(s["prompt_ids"]) for s in samples) + 1)
        batch.update(self.image_inputs(samples))
        return batch

    def forward_losses(self, model, batch) -> tuple[torch.Tensor, torch.Tensor]:
        images = {k: v for k, v in batch.items() if k not in ("input_ids", "labels", "attention_mask",
                                                               "position_ids", "sample_ids")}
        labels, sample_ids = batching.next_token_targets(batch)
        with self.autocast():
            logits = batching.forward_logits(model, batch, **images)
        return batching.token_losses(logits, labels), sample_ids

    def generation_inputs(self, samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return self.image_inputs(samples)


PROBLEM = MultimodalProblem
