"""Image cells decode from every accepted form; augmentation and mixing behave as specified."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from training.augmentation import build_augmentation, cutmix, mix_batch, mixup
from training.errors import DatasetError
from training.images import check_images, load_image


def _png(color=(255, 0, 0), size=(8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_cell_decodes_from_bytes_base64_data_uri_struct_and_relative_path(tmp_path):
    raw = _png()
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_bytes(raw)
    b64 = base64.b64encode(raw).decode()
    cells = [raw, b64, f"data:image/png;base64,{b64}", {"bytes": raw, "path": None}, "imgs/a.png",
             {"bytes": None, "path": "imgs/a.png"}]
    for cell in cells:
        image = load_image(cell, root=tmp_path, row=0)
        assert image.mode == "RGB" and image.size == (8, 6)
        assert image.getpixel((0, 0)) == (255, 0, 0)


def test_broken_image_error_names_column_split_and_row(tmp_path):
    with pytest.raises(DatasetError, match=r"photo column, train row 3: cannot read the image"):
        load_image(b"not an image", root=tmp_path, row=3, column="photo", split="train")


def test_path_outside_the_dataset_folder_is_refused(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(_png())
    root = tmp_path / "dataset"
    root.mkdir()
    with pytest.raises(DatasetError, match="outside the dataset folder"):
        load_image("../secret.png", root=root, row=0)


def test_check_images_reports_every_bad_row_at_once_and_returns_sizes(tmp_path):
    cells = [_png(size=(5, 7)), b"junk", None, "missing.png", _png(size=(3, 4))]
    with pytest.raises(DatasetError) as info:
        check_images(cells, root=tmp_path, column="image", split="validation")
    message = str(info.value)
    assert "3 unreadable image(s)" in message
    # rows count from 1, like the dataset importer: the bad cells are the 2nd, 3rd and 4th
    assert "row 2 (" in message and "row 3 (" in message and "row 4 (" in message and "row 1 (" not in message
    assert check_images([cells[0], cells[4]], root=tmp_path, column="image", split="train") == [(5, 7), (3, 4)]


def test_augmentation_levels_match_the_spec():
    import kornia.augmentation as K

    assert build_augmentation(None, (32, 32)) is None
    kinds = {level: [type(m) for m in build_augmentation(level, (32, 32))] for level in ("low", "medium", "high")}
    assert kinds["low"] == [K.RandomHorizontalFlip]
    assert kinds["medium"] == [K.RandomHorizontalFlip, K.RandomAffine, K.RandomErasing]
    assert kinds["high"] == [K.RandomResizedCrop, K.RandomHorizontalFlip, K.RandomAffine, K.ColorJitter,
                             K.RandomErasing]
    torch.manual_seed(0)
    images = torch.rand(4, 3, 32, 32)
    for level in ("low", "medium", "high"):
        out = build_augmentation(level, (32, 32))(images)
        assert out.shape == images.shape
        assert not torch.equal(out, images)


def test_low_augmentation_only_flips_horizontally():
    torch.manual_seed(1)
    images = torch.rand(16, 3, 8, 8)
    out = build_augmentation("low", (8, 8))(images)
    for original, augmented in zip(images, out):
        assert torch.allclose(augmented, original) or torch.allclose(augmented, original.flip(-1))


def test_mixup_blends_images_and_labels_with_the_same_weight():
    torch.manual_seed(0)
    images = torch.stack([torch.zeros(3, 4, 4), torch.ones(3, 4, 4)])
    labels = torch.eye(2)
    mixed, soft = mixup(images, labels)
    # image 0 is 0 everywhere, image 1 is 1: each pixel value equals the weight of image 1
    for image, label in zip(mixed, soft):
        assert torch.allclose(image, torch.full_like(image, float(label[1])), atol=1e-6)
        assert float(label.sum()) == pytest.approx(1.0)


def test_cutmix_mixes_labels_by_the_pasted_area():
    torch.manual_seed(3)
    images = torch.stack([torch.zeros(1, 16, 16), torch.ones(1, 16, 16)])
    labels = torch.eye(2)
    for _ in range(10):
        mixed, soft = cutmix(images, labels)
        for image, label, own in zip(mixed, soft, (0, 1)):
            other_area = float((image != own).float().mean())
            assert float(label[1 - own]) == pytest.approx(other_area, abs=1e-6)
            assert float(label.sum()) == pytest.approx(1.0)


def test_mix_batch_without_flags_changes_nothing():
    images, labels = torch.rand(3, 3, 4, 4), torch.eye(3)
    out_images, out_labels = mix_batch(images, labels, use_mixup=False, use_cutmix=False)
    assert out_images is images and out_labels is labels
    _, soft = mix_batch(images, labels, use_mixup=True, use_cutmix=True)
    assert np.allclose(soft.sum(1).numpy(), 1.0)
