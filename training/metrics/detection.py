"""Object detection metrics (mAP, mAP@50, mAP@75, mAR) computed by pycocotools.

Ground truth and predictions are per-image dicts with COCO ``[x, y, w, h]`` boxes
in pixels:
- ground truth: ``{"bbox": [[x, y, w, h], ...], "category": [c, ...]}``
  (the dataset's annotation format);
- predictions: ``{"bbox": [...], "category": [...], "score": [...]}``.
"""
from __future__ import annotations

import contextlib
import io
from typing import Sequence

import numpy as np

# Index of each metric in COCOeval.stats (pycocotools' summarize() order);
# mAR is recall averaged over IoU 0.50:0.95 with up to 100 detections per image.
COCO_STATS_INDEX = {"mAP": 0, "mAP@50": 1, "mAP@75": 2, "mAR": 8}


def _coco_ground_truth(ground_truth: Sequence[dict], categories: Sequence[int]):
    from pycocotools.coco import COCO

    images, annotations = [], []
    for image_id, target in enumerate(ground_truth):
        images.append({"id": image_id})
        for box, category in zip(target["bbox"], target["category"]):
            x, y, w, h = (float(v) for v in box)
            # Annotation ids start at 1: COCOeval treats id 0 as "unmatched".
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "bbox": [x, y, w, h],
                                "area": w * h, "category_id": int(category), "iscrowd": 0})
    coco = COCO()
    coco.dataset = {"images": images, "annotations": annotations,
                    "categories": [{"id": int(c)} for c in categories]}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def detection_metrics(names: Sequence[str], ground_truth: Sequence[dict], predictions: Sequence[dict],
                      notes: list[str] | None = None) -> dict[str, float]:
    """COCO metrics named in ``names`` over all images; empty when there is no ground-truth box
    (the metrics are undefined then, and ``notes`` says so)."""
    from pycocotools.cocoeval import COCOeval

    unknown = [n for n in names if n not in COCO_STATS_INDEX]
    if unknown:
        raise ValueError(f"unknown detection metric(s) {unknown}; choose from {list(COCO_STATS_INDEX)}")
    if len(ground_truth) != len(predictions):
        raise ValueError(f"{len(ground_truth)} ground-truth images but {len(predictions)} predictions")
    notes = notes if notes is not None else []
    if not any(len(t["bbox"]) for t in ground_truth):
        notes.append("Detection metrics skipped: the validation set has no ground-truth boxes.")
        return {}

    categories = sorted({int(c) for t in ground_truth for c in t["category"]}
                        | {int(c) for p in predictions for c in p["category"]})
    gt = _coco_ground_truth(ground_truth, categories)
    detections = [
        {"image_id": image_id, "bbox": [float(v) for v in box], "category_id": int(category), "score": float(score)}
        for image_id, pred in enumerate(predictions)
        for box, category, score in zip(pred["bbox"], pred["category"], pred["score"])
    ]
    if not detections:
        return {name: 0.0 for name in names}

    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(detections)
        evaluator = COCOeval(gt, dt, iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = np.asarray(evaluator.stats, dtype=np.float64)
    # pycocotools reports -1 where a value is undefined (no ground truth for any category);
    # with at least one box that cannot happen for these summary numbers, but keep it honest.
    return {name: max(float(stats[COCO_STATS_INDEX[name]]), 0.0) for name in names}
