"""Every tiny builder writes a folder the problem type's Auto classes reload and run."""
from __future__ import annotations

import torch
from PIL import Image

from training.tiny_models import BUILDERS


def test_vit_reloads_through_auto_image_classes(tmp_path):
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    BUILDERS["vit"](tmp_path, num_labels=3)
    model = AutoModelForImageClassification.from_pretrained(tmp_path)
    processor = AutoImageProcessor.from_pretrained(tmp_path)
    pixels = processor([Image.new("RGB", (20, 40), (0, 255, 0))], return_tensors="pt")["pixel_values"]
    assert pixels.shape == (1, 3, 32, 32)
    assert model(pixel_values=pixels).logits.shape == (1, 3)


def test_detr_trains_on_coco_labels_from_its_processor(tmp_path):
    from transformers import AutoImageProcessor, AutoModelForObjectDetection

    BUILDERS["detr"](tmp_path)
    model = AutoModelForObjectDetection.from_pretrained(tmp_path)
    processor = AutoImageProcessor.from_pretrained(tmp_path)
    annotations = [{"image_id": 0, "annotations": [{"bbox": [4, 4, 10, 12], "category_id": 1, "area": 120.0,
                                                     "iscrowd": 0}]}]
    encoded = processor(images=[Image.new("RGB", (32, 32))], annotations=annotations, return_tensors="pt")
    out = model(pixel_values=encoded["pixel_values"], labels=encoded["labels"])
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert sum(p.numel() for p in model.parameters()) < 500_000


def test_llava_reloads_and_generates_with_an_image(tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    BUILDERS["llava"](tmp_path)
    model = AutoModelForImageTextToText.from_pretrained(tmp_path)
    processor = AutoProcessor.from_pretrained(tmp_path)
    encoded = processor(images=[Image.new("RGB", (32, 32), (255, 0, 0))], text=["<image>\nWhat colour?"],
                        return_tensors="pt")
    assert int((encoded["input_ids"] == model.config.image_token_index).sum()) == 16  # (32/8)^2 patches
    generated = model.generate(**encoded, max_new_tokens=3, do_sample=False)
    assert generated.shape[1] == encoded["input_ids"].shape[1] + 3


def test_llama_classifier_reloads_as_a_sequence_classifier(tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    BUILDERS["llama_classifier"](tmp_path)
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    batch = tokenizer(["good", "a bad one"], padding=True, return_tensors="pt")
    assert model(**batch).logits.shape == (2, 2)
