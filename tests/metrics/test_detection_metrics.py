"""Detection metrics through pycocotools on hand-built cases."""
from __future__ import annotations

import pytest

from training.metrics.detection import detection_metrics

ALL = ["mAP", "mAP@50", "mAP@75", "mAR"]
GT = [
    {"bbox": [[10, 10, 20, 20]], "category": [0]},
    {"bbox": [[0, 0, 10, 10], [30, 30, 10, 10]], "category": [1, 0]},
]


def _pred(boxes, cats, scores=None):
    return {"bbox": boxes, "category": cats, "score": scores or [0.9] * len(boxes)}


def test_perfect_predictions_score_one_and_print_nothing(capsys):
    preds = [_pred(t["bbox"], t["category"]) for t in GT]
    values = detection_metrics(ALL, GT, preds)
    assert values == pytest.approx({name: 1.0 for name in ALL})
    assert capsys.readouterr().out == ""


def test_box_shifted_below_half_iou_is_a_miss_at_50():
    gt = [{"bbox": [[0, 0, 10, 10]], "category": [0]}]
    # shifted by 6 px: intersection 4x10=40, union 160 -> IoU 0.25
    shifted = detection_metrics(ALL, gt, [_pred([[6, 0, 10, 10]], [0])])
    assert shifted["mAP@50"] == 0.0 and shifted["mAP"] == 0.0 and shifted["mAR"] == 0.0
    # shifted by 2 px: IoU 80/120 = 0.667 -> a hit at 0.50 but not at 0.75
    near = detection_metrics(ALL, gt, [_pred([[2, 0, 10, 10]], [0])])
    assert near["mAP@50"] == pytest.approx(1.0) and near["mAP@75"] == 0.0
    # IoU 0.667 passes thresholds 0.50, 0.55, 0.60, 0.65 of the ten -> mAP = mAR = 4/10
    assert near["mAP"] == pytest.approx(0.4) and near["mAR"] == pytest.approx(0.4)


def test_mixed_case_matches_hand_computed_values():
    # Category 0 has two gt boxes (image 0, image 1); category 1 has one (image 1).
    # Category 0: one exact hit (score 0.9), one wrong-place box (score 0.8) in image 1, the
    # other cat-0 gt missed -> precision-recall: [hit, miss], recall reaches 0.5 at precision 1.
    # COCO 101-point interpolation: precision 1 for recall 0..0.5 (51 points), 0 after -> 51/101.
    # Category 1: exact hit -> AP 1. mAP@50 = (51/101 + 1) / 2.
    preds = [
        _pred([[10, 10, 20, 20]], [0], [0.9]),
        _pred([[0, 0, 10, 10], [60, 60, 5, 5]], [1, 0], [0.95, 0.8]),
    ]
    values = detection_metrics(ALL, GT, preds)
    assert values["mAP@50"] == pytest.approx((51 / 101 + 1) / 2)
    assert values["mAP"] == pytest.approx((51 / 101 + 1) / 2)  # exact boxes hit at every IoU
    assert values["mAR"] == pytest.approx((0.5 + 1.0) / 2)


def test_no_predictions_scores_zero_and_no_ground_truth_is_left_out():
    assert detection_metrics(ALL, GT, [_pred([], []), _pred([], [])]) == {name: 0.0 for name in ALL}
    notes: list[str] = []
    empty_gt = [{"bbox": [], "category": []}]
    assert detection_metrics(["mAP"], empty_gt, [_pred([[0, 0, 1, 1]], [0])], notes=notes) == {}
    assert "no ground-truth boxes" in notes[0]


def test_unknown_metric_is_an_error():
    with pytest.raises(ValueError, match="mAP@50"):
        detection_metrics(["AP"], GT, GT)
