"""image_classification: AutoModelForImageClassification + its AutoImageProcessor.

The processor always resizes (to ``training.image_resolution`` when set) and normalises;
between the two, training batches get the configured kornia augmentation and mixup/CutMix.
"""
from __future__ import annotations

import inspect
from typing import Any

import torch

from training.augmentation import build_augmentation, mix_batch
from training.classifier import ClassifierProblem, output_columns
from training.data import row_numbers
from training.errors import RunError
from training.images import check_images, load_image
from training.modeling import json_kwargs, set_dropout
from training.problems import SplitData


def _processor_size(processor) -> tuple[int, int]:
    """(height, width) of the processor's output images."""
    for attr in ("crop_size", "size"):
        size = getattr(processor, attr, None) if getattr(processor, f"do_{attr.split('_')[0]}", True) else None
        if size is None:
            continue
        size = dict(size)
        if size.get("height") and size.get("width"):
            return int(size["height"]), int(size["width"])
        if size.get("shortest_edge") and attr == "size":
            return int(size["shortest_edge"]), int(size["shortest_edge"])
    raise RunError("cannot tell the input resolution of the model's image processor; set training.image_resolution")


def set_resolution(processor, resolution: int) -> None:
    """Make the processor emit ``resolution``-pixel square images (saved with the model, so
    inference resizes the same way)."""
    size = dict(processor.size) if getattr(processor, "size", None) is not None else {}
    if size.get("shortest_edge") and not size.get("height"):
        processor.size = {"shortest_edge": resolution}
    else:
        processor.size = {"height": resolution, "width": resolution}
    if getattr(processor, "crop_size", None) is not None:
        processor.crop_size = {"height": resolution, "width": resolution}


def vision_from_pretrained(auto_class, cfg, config, load_kwargs: dict[str, Any]) -> torch.nn.Module:
    """Load a vision model with a head sized by ``config`` (a new head when the checkpoint's differs)."""
    kwargs = dict(load_kwargs)
    try:
        return auto_class.from_pretrained(cfg.llm_backbone, config=config, ignore_mismatched_sizes=True, **kwargs)
    except ValueError as exc:
        if "attn_implementation" not in kwargs or "attention" not in str(exc).lower():
            raise
    # Vision models without sdpa/flash attention take their default attention.
    kwargs.pop("attn_implementation")
    return auto_class.from_pretrained(cfg.llm_backbone, config=config, ignore_mismatched_sizes=True, **kwargs)


class ImageClassificationProblem(ClassifierProblem):
    head_modules = ("classifier",)

    def required_columns(self) -> list[str]:
        return [self.cfg.dataset.image_column] + output_columns(self.cfg)

    # ---- model --------------------------------------------------------------------------
    def build_model(self, load_kwargs: dict[str, Any]) -> torch.nn.Module:
        from transformers import AutoConfig, AutoImageProcessor, AutoModelForImageClassification

        cfg = self.cfg
        hub = dict(revision=cfg.environment.huggingface_branch, trust_remote_code=cfg.environment.trust_remote_code)
        self.processor = AutoImageProcessor.from_pretrained(cfg.llm_backbone, **hub)
        if cfg.training.image_resolution:
            set_resolution(self.processor, cfg.training.image_resolution)
        self.size = _processor_size(self.processor)
        self.mean = torch.tensor(self.processor.image_mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(self.processor.image_std, dtype=torch.float32).view(1, -1, 1, 1)
        self.augment = build_augmentation(cfg.training.image_augmentation_pipeline, self.size)
        self.logs.train(f"images: resized to {self.size[0]}x{self.size[1]}, augmentation "
                        f"{cfg.training.image_augmentation_pipeline or 'none'}, mixup {cfg.training.use_mixup}, "
                        f"CutMix {cfg.training.use_cutmix}")

        config = AutoConfig.from_pretrained(cfg.llm_backbone, **hub, **json_kwargs(cfg.architecture.backbone_kwargs))
        set_dropout(config, cfg.architecture.intermediate_dropout)
        self.configure_head(config)
        model = vision_from_pretrained(AutoModelForImageClassification, cfg, config, load_kwargs)
        self.interpolate = (self._model_resolution(config) not in (None, self.size)
                            and "interpolate_pos_encoding" in inspect.signature(model.forward).parameters)
        return model

    @staticmethod
    def _model_resolution(config) -> tuple[int, int] | None:
        size = getattr(config, "image_size", None)
        if isinstance(size, int):
            return size, size
        if isinstance(size, (list, tuple)) and len(size) == 2:
            return int(size[0]), int(size[1])
        return None

    # ---- data ---------------------------------------------------------------------------
    def observe_data(self, train: SplitData, validation: SplitData) -> None:
        super().observe_data(train, validation)
        column = self.cfg.dataset.image_column
        for name, split in (("train", train), ("validation", validation)):  # fail before the model loads
            check_images(split.frame[column].tolist(), rows=row_numbers(split.frame), root=split.root,
                         column=column, split=name)

    def build_datasets(self, train: SplitData, validation: SplitData) -> None:
        labels = self.label_space()
        column = self.cfg.dataset.image_column

        def samples(split: SplitData, name: str) -> list[dict[str, Any]]:
            targets = labels.targets(split.frame, name)
            return [{"cell": cell, "target": t, "row": row, "split": name, "root": split.root}
                    for row, cell, t in zip(row_numbers(split.frame), split.frame[column].tolist(), targets)]

        self.train_dataset = samples(train, "train")
        self.validation_dataset = samples(validation, "validation")
        self.log_class_counts("images")

    def pixels(self, samples: list[dict[str, Any]]) -> torch.Tensor:
        """Decoded and resized images in [0, 1], not yet normalised."""
        column = self.cfg.dataset.image_column
        images = [load_image(s["cell"], root=s["root"], row=s["row"], column=column, split=s["split"])
                  for s in samples]
        out = self.processor(images, do_normalize=False, return_tensors="pt")
        return out["pixel_values"].float()

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        if not getattr(self.processor, "do_normalize", True):
            return pixels
        return (pixels - self.mean) / self.std

    def collate_train(self, samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        pixels = self.pixels(samples)
        targets = self.targets_of(samples)
        if self.augment is not None:
            with torch.no_grad():
                pixels = self.augment(pixels).clamp(0.0, 1.0)
        tr = self.cfg.training
        pixels, targets = mix_batch(pixels, targets, use_mixup=tr.use_mixup, use_cutmix=tr.use_cutmix)
        return {"pixel_values": self.normalise(pixels), "targets": targets}

    def logits(self, model, batch: dict[str, Any]) -> torch.Tensor:
        extra = {"interpolate_pos_encoding": True} if self.interpolate else {}
        return model(pixel_values=batch["pixel_values"], **extra).logits

    def model_inputs(self, samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return {"pixel_values": self.normalise(self.pixels(samples))}

    def prediction_columns(self) -> dict[str, list]:
        return {"row": [s["row"] for s in self.validation_dataset]}


PROBLEM = ImageClassificationProblem
