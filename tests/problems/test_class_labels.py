"""Label detection and classification losses shared by text and image classifiers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from training.classifier import LabelSpace, classification_loss
from training.data import number_rows
from training.errors import DatasetError


def test_int_labels_give_max_id_plus_one_classes():
    space = LabelSpace.detect([pd.DataFrame({"y": [0, 3, 1]}), pd.DataFrame({"y": [2]})], ["y"], None)
    assert space.num_classes == 4 and not space.multi_label
    assert space.targets(pd.DataFrame({"y": [3, 0]}), "train").tolist() == [[0, 0, 0, 1], [1, 0, 0, 0]]


def test_string_labels_are_sorted_and_shared_across_splits():
    space = LabelSpace.detect([pd.DataFrame({"y": ["pos", "neg"]}), pd.DataFrame({"y": ["neutral"]})], ["y"], None)
    assert space.names == ["neg", "neutral", "pos"]
    assert space.label2id == {"neg": 0, "neutral": 1, "pos": 2}


def test_list_column_is_multi_label():
    frame = pd.DataFrame({"y": [["a", "b"], ["b"], '["c"]']})
    space = LabelSpace.detect([frame], ["y"], None)
    assert space.multi_label and space.names == ["a", "b", "c"]
    assert space.targets(frame, "train").tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert space.describe(np.array([1, 0, 1])) == "a, c"


def test_bad_indicator_values_are_all_reported():
    frame = number_rows(pd.DataFrame({"a": [0, 1, 2, 1], "b": [1, 0, 1, "x"]}))
    with pytest.raises(DatasetError) as info:
        LabelSpace.detect([frame], ["a", "b"], None)
    assert "train row 3 (a=2)" in str(info.value) and "train row 4 (b='x')" in str(info.value)


def test_one_class_or_empty_labels_are_clear_errors():
    with pytest.raises(DatasetError, match="only one class"):
        LabelSpace.detect([pd.DataFrame({"y": ["a", "a"]})], ["y"], None)
    with pytest.raises(DatasetError, match=r"empty label in train row 2$"):
        LabelSpace.detect([number_rows(pd.DataFrame({"y": ["a", None, "b"]}))], ["y"], None)


def test_validation_label_unknown_to_an_explicit_space_is_reported_with_rows():
    space = LabelSpace.detect([pd.DataFrame({"y": [0, 1]})], ["y"], None)
    with pytest.raises(DatasetError, match=r"validation data, y column: .*row 2 \(5\)"):
        space.targets(number_rows(pd.DataFrame({"y": [1, 5]})), "validation")


def test_losses_match_torch_references_and_focal_downweights_easy_examples():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]])
    labels = torch.tensor([0, 2])
    one_hot = F.one_hot(labels, 3).float()
    assert classification_loss(logits, one_hot, "CrossEntropy", False) == pytest.approx(
        float(F.cross_entropy(logits, labels)))
    assert classification_loss(logits, one_hot, "BinaryCrossEntropy", False) == pytest.approx(
        float(F.binary_cross_entropy_with_logits(logits, one_hot)))
    # multi-label CrossEntropy is the per-class binary cross-entropy
    assert classification_loss(logits, one_hot, "CrossEntropy", True) == pytest.approx(
        float(F.binary_cross_entropy_with_logits(logits, one_hot)))
    easy = torch.tensor([[6.0, -6.0]])
    target = torch.tensor([[1.0, 0.0]])
    assert classification_loss(easy, target, "FocalLoss", False) < 0.01 * classification_loss(
        easy, target, "CrossEntropy", False)
    p = torch.softmax(logits, -1)
    manual = -(one_hot * (1 - p) ** 2 * torch.log(p)).sum(-1).mean()
    assert classification_loss(logits, one_hot, "FocalLoss", False) == pytest.approx(float(manual))


def test_a_huge_class_id_is_refused_before_any_table_is_allocated():
    import time

    from studio.config.data_bounds import MAX_NUM_CLASSES

    started = time.monotonic()
    with pytest.raises(DatasetError, match=f"1,000,000,001 classes .* more than the {MAX_NUM_CLASSES:,} allowed"):
        LabelSpace.detect([pd.DataFrame({"y": [0, 1_000_000_000]})], ["y"], None)
    with pytest.raises(DatasetError, match="more than the"):
        LabelSpace.detect([pd.DataFrame({"y": [0, 1]})], ["y"], MAX_NUM_CLASSES + 1)
    assert time.monotonic() - started < 1.0
