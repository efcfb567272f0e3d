"""object_detection (experimental): DETR through AutoModelForObjectDetection.

Each row has an image and COCO annotations ``{"bbox": [[x, y, w, h], ...], "category": [c, ...]}``
(a dict or its JSON string; pixels, top-left corner). Every row is validated before
training and all bad rows are reported in one error. The image processor turns the
annotations into DETR labels; ``post_process_object_detection`` turns outputs back into
boxes, scored by pycocotools (mAP, mAP@50, mAP@75, mAR).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from training.classifier import refuse_too_many_classes
from training.data import row_numbers
from training.errors import DatasetError
from training.images import check_images, load_image
from training.metrics.detection import detection_metrics
from training.modeling import json_kwargs, set_dropout
from training.problems import EvalContext, Evaluation, Problem, SplitData
from training.problems.image_classification import vision_from_pretrained

MAX_BAD_ROWS_LISTED = 20
# Boxes may overhang the image by this many pixels (rounding in annotation tools) before a row is refused.
EDGE_TOLERANCE = 1.0
# Predictions below this score are left out of the predictions table (all of them count for mAP).
TABLE_SCORE_THRESHOLD = 0.5


@dataclass
class Annotation:
    boxes: list[list[float]]  # [x, y, w, h] in pixels
    categories: list[int]


def parse_annotation(value: Any, row: int, size: tuple[int, int], num_classes: int | None) -> tuple[Annotation | None, list[str]]:
    """The row's annotation, or None and every problem found in it."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            return None, [f"row {row}: not valid JSON ({exc.msg})"]
    if not isinstance(value, dict) or "bbox" not in value or "category" not in value:
        return None, [f"row {row}: expected a dict with 'bbox' and 'category'"]
    boxes, categories = _as_list(value["bbox"]), _as_list(value["category"])
    if boxes is None or categories is None:
        return None, [f"row {row}: 'bbox' and 'category' must be lists"]
    problems = []
    if len(boxes) != len(categories):
        problems.append(f"row {row}: {len(boxes)} boxes but {len(categories)} categories")
    width, height = size
    parsed_boxes, parsed_categories = [], []
    for i, box in enumerate(boxes):
        box = _as_list(box)
        if box is None or len(box) != 4 or not all(_is_number(v) for v in box):
            problems.append(f"row {row}, box {i}: expected [x, y, width, height] numbers, got {box!r}")
            continue
        x, y, w, h = (float(v) for v in box)
        if w <= 0 or h <= 0:
            problems.append(f"row {row}, box {i}: width and height must be positive, got {w:g}x{h:g}")
        elif x < -EDGE_TOLERANCE or y < -EDGE_TOLERANCE or x + w > width + EDGE_TOLERANCE \
                or y + h > height + EDGE_TOLERANCE:
            problems.append(f"row {row}, box {i}: [{x:g}, {y:g}, {w:g}, {h:g}] is outside the {width}x{height} image")
        parsed_boxes.append([max(x, 0.0), max(y, 0.0), min(w, width - max(x, 0.0)), min(h, height - max(y, 0.0))])
    for i, category in enumerate(categories):
        if not _is_number(category) or float(category) != int(category) or int(category) < 0:
            problems.append(f"row {row}, category {i}: expected an integer >= 0, got {category!r}")
        elif num_classes is not None and int(category) >= num_classes:
            problems.append(f"row {row}, category {i}: {int(category)} is not below dataset.num_classes {num_classes}")
        else:
            parsed_categories.append(int(category))
    if problems:
        return None, problems
    return Annotation(parsed_boxes, parsed_categories), []


def _as_list(value: Any) -> list | None:
    if hasattr(value, "tolist"):
        value = value.tolist()
    return list(value) if isinstance(value, (list, tuple)) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def parse_split(frame: pd.DataFrame, column: str, sizes: list[tuple[int, int]], split: str,
                num_classes: int | None) -> list[Annotation]:
    annotations, problems = [], []
    for row, value, size in zip(row_numbers(frame), frame[column].tolist(), sizes):
        annotation, found = parse_annotation(value, row, size, num_classes)
        annotations.append(annotation)
        problems += found
    if problems:
        more = f"; and {len(problems) - MAX_BAD_ROWS_LISTED} more" if len(problems) > MAX_BAD_ROWS_LISTED else ""
        raise DatasetError(f"{split} data, {column} column: {len(problems)} bad annotation(s) "
                           f"(expected {{\"bbox\": [[x, y, w, h], ...], \"category\": [...]}}): "
                           + "; ".join(problems[:MAX_BAD_ROWS_LISTED]) + more)
    return annotations


class ObjectDetectionProblem(Problem):
    head_modules = ("class_labels_classifier", "bbox_predictor")

    def __init__(self, cfg, logs, device):
        super().__init__(cfg, logs, device)
        self.num_classes: int | None = None
        self.splits: dict[str, tuple[SplitData, list[tuple[int, int]], list[Annotation]]] = {}

    def output_column(self) -> str:
        out = self.cfg.dataset.output_column
        if not isinstance(out, str):
            raise DatasetError("dataset.output_column: object_detection needs one column of COCO annotations")
        return out

    def required_columns(self) -> list[str]:
        return [self.cfg.dataset.image_column, self.output_column()]

    # The head size depends on the categories in the data: read them before the model is built.
    def observe_data(self, train: SplitData, validation: SplitData) -> None:
        image_col, out_col = self.cfg.dataset.image_column, self.output_column()
        configured = self.cfg.dataset.num_classes
        for name, split in (("train", train), ("validation", validation)):
            sizes = check_images(split.frame[image_col].tolist(), rows=row_numbers(split.frame), root=split.root,
                                 column=image_col, split=name)
            self.splits[name] = (split, sizes, parse_split(split.frame, out_col, sizes, name, configured))
        seen = [c for _, _, annotations in self.splits.values() for a in annotations for c in a.categories]
        self.num_classes = configured or (max(seen) + 1 if seen else 1)
        refuse_too_many_classes(self.num_classes, out_col)
        self.logs.train(f"num_classes: {self.num_classes} "
                        + ("(dataset.num_classes)" if configured else "(max category + 1)")
                        + f"; {len(seen)} boxes in {sum(len(s[2]) for s in self.splits.values())} images")

    # ---- model --------------------------------------------------------------------------
    def build_model(self, load_kwargs: dict[str, Any]) -> torch.nn.Module:
        from transformers import AutoConfig, AutoImageProcessor, AutoModelForObjectDetection

        cfg = self.cfg
        if self.num_classes is None:
            raise RuntimeError("observe_data(train, validation) must run before build_model")
        hub = dict(revision=cfg.environment.huggingface_branch, trust_remote_code=cfg.environment.trust_remote_code)
        self.processor = AutoImageProcessor.from_pretrained(cfg.llm_backbone, **hub)
        config = AutoConfig.from_pretrained(cfg.llm_backbone, **hub, **json_kwargs(cfg.architecture.backbone_kwargs))
        set_dropout(config, cfg.architecture.intermediate_dropout)
        config.num_labels = self.num_classes
        config.id2label = {i: str(i) for i in range(self.num_classes)}
        config.label2id = {str(i): i for i in range(self.num_classes)}
        return vision_from_pretrained(AutoModelForObjectDetection, cfg, config, load_kwargs)

    # ---- data ---------------------------------------------------------------------------
    def build_datasets(self, train: SplitData, validation: SplitData) -> None:
        # Sizes and annotations were checked by observe_data on these same splits.
        if not self.splits or self.splits["train"][0] is not train or self.splits["validation"][0] is not validation:
            self.observe_data(train, validation)
        image_col = self.cfg.dataset.image_column

        def samples(name: str) -> list[dict[str, Any]]:
            split, sizes, annotations = self.splits[name]
            cells = split.frame[image_col].tolist()
            return [{"cell": cell, "root": split.root, "row": row, "split": name, "size": size, "annotation": a}
                    for row, cell, size, a in zip(row_numbers(split.frame), cells, sizes, annotations)]

        self.train_dataset = samples("train")
        self.validation_dataset = samples("validation")

    def collate(self, samples: list[dict[str, Any]]) -> dict[str, Any]:
        column = self.cfg.dataset.image_column
        images = [load_image(s["cell"], root=s["root"], row=s["row"], column=column, split=s["split"])
                  for s in samples]
        annotations = [
            {"image_id": i, "annotations": [
                {"bbox": box, "category_id": category, "area": box[2] * box[3], "iscrowd": 0}
                for box, category in zip(s["annotation"].boxes, s["annotation"].categories)]}
            for i, s in enumerate(samples)]
        encoded = self.processor(images=images, annotations=annotations, return_tensors="pt")
        batch = {"pixel_values": encoded["pixel_values"], "labels": encoded["labels"]}
        if "pixel_mask" in encoded:
            batch["pixel_mask"] = encoded["pixel_mask"]
        return batch

    def collate_train(self, samples):
        return self.collate(samples)

    def forward(self, model, batch: dict[str, Any]):
        labels = [{k: v.to(self.device) for k, v in target.items()} for target in batch["labels"]]
        inputs = {k: batch[k].to(self.device) for k in ("pixel_values", "pixel_mask") if k in batch}
        with self.autocast():
            return model(**inputs, labels=labels)

    def training_loss(self, model, batch) -> torch.Tensor:
        return self.forward(model, batch).loss

    # ---- evaluation ---------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, model, context: EvalContext) -> Evaluation:
        model.eval()
        bs = self.inference_batch_size()
        losses, predictions = [], []
        for start in range(0, len(self.validation_dataset), bs):
            chunk = self.validation_dataset[start:start + bs]
            outputs = self.forward(model, self.collate(chunk))
            losses.append(float(outputs.loss) * len(chunk))
            sizes = torch.tensor([[s["size"][1], s["size"][0]] for s in chunk], device=self.device)  # (h, w)
            # threshold 0: every query counts for mAP, ranked by its score
            results = self.processor.post_process_object_detection(outputs, threshold=0.0, target_sizes=sizes)
            for result in results:
                xyxy = result["boxes"].float().cpu().tolist()
                predictions.append({"bbox": [[x0, y0, x1 - x0, y1 - y0] for x0, y0, x1, y1 in xyxy],
                                    "category": result["labels"].cpu().tolist(),
                                    "score": result["scores"].float().cpu().tolist()})
            context.report(min(1.0, (start + bs) / len(self.validation_dataset)))
        model.train()
        ground_truth = [{"bbox": s["annotation"].boxes, "category": s["annotation"].categories}
                        for s in self.validation_dataset]
        selected = self.cfg.prediction.metrics or []
        notes: list[str] = []
        result = Evaluation(loss=sum(losses) / len(self.validation_dataset),
                            metrics=detection_metrics(selected, ground_truth, predictions, notes=notes))
        for name in selected:
            if name not in result.metrics:
                result.failed[name] = " ".join(notes) or "undefined on this data"
        result.predictions = pd.DataFrame({
            "row": [s["row"] for s in self.validation_dataset],
            "target": [json.dumps(g) for g in ground_truth],
            "prediction": [json.dumps(_confident(p)) for p in predictions],
        })
        return result


def _confident(prediction: dict[str, list]) -> dict[str, list]:
    keep = [i for i, score in enumerate(prediction["score"]) if score >= TABLE_SCORE_THRESHOLD]
    return {"bbox": [[round(v, 2) for v in prediction["bbox"][i]] for i in keep],
            "category": [prediction["category"][i] for i in keep],
            "score": [round(prediction["score"][i], 4) for i in keep]}


PROBLEM = ObjectDetectionProblem
