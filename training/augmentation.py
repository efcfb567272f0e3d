"""Training-time image augmentation: kornia pipelines per level, plus mixup and CutMix.

Augmentations work on a batch of float images in [0, 1], shape (B, C, H, W), after
the image processor resized them and before it normalises them; validation images
are never augmented.
"""
from __future__ import annotations

import torch

LEVELS = (None, "low", "medium", "high")


def build_augmentation(level: str | None, size: tuple[int, int]) -> torch.nn.Module | None:
    """The spec's pipelines: low = flip; medium = flip, affine, random erasing;
    high = random resized crop, flip, affine, colour jitter, random erasing."""
    import kornia.augmentation as K

    if level is None:
        return None
    if level not in LEVELS:
        raise ValueError(f"training.image_augmentation_pipeline: {level!r} is not one of null, low, medium, high")
    flip = K.RandomHorizontalFlip(p=0.5)
    if level == "low":
        return torch.nn.Sequential(flip)

    def affine():
        return K.RandomAffine(degrees=15.0, translate=(0.1, 0.1), scale=(0.9, 1.1), p=0.5)

    def erasing():
        return K.RandomErasing(scale=(0.02, 0.2), ratio=(0.3, 3.3), p=0.25)

    if level == "medium":
        return torch.nn.Sequential(flip, affine(), erasing())
    return torch.nn.Sequential(
        K.RandomResizedCrop(size=size, scale=(0.6, 1.0)),
        flip,
        affine(),
        K.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05, p=0.5),
        erasing(),
    )


def mixup(images: torch.Tensor, targets: torch.Tensor, *, alpha: float = 0.4) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend each image and its soft label with a random partner: lam*a + (1-lam)*b, lam ~ Beta(alpha, alpha)."""
    lam = _beta(alpha)
    perm = torch.randperm(images.shape[0])
    mixed = lam * images + (1.0 - lam) * images[perm]
    return mixed, lam * targets + (1.0 - lam) * targets[perm]


def cutmix(images: torch.Tensor, targets: torch.Tensor, *, alpha: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste a random box of a partner image into each image; labels mix by the pasted area."""
    _, _, height, width = images.shape
    lam = _beta(alpha)
    cut_h, cut_w = int(height * (1.0 - lam) ** 0.5), int(width * (1.0 - lam) ** 0.5)
    cy = int(torch.randint(height, (1,)))
    cx = int(torch.randint(width, (1,)))
    y0, y1 = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
    x0, x1 = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
    perm = torch.randperm(images.shape[0])
    mixed = images.clone()
    mixed[:, :, y0:y1, x0:x1] = images[perm, :, y0:y1, x0:x1]
    # The box is clipped at the borders, so the label weight is the area actually pasted.
    kept = 1.0 - (y1 - y0) * (x1 - x0) / float(height * width)
    return mixed, kept * targets + (1.0 - kept) * targets[perm]


def mix_batch(images: torch.Tensor, targets: torch.Tensor, *, use_mixup: bool,
              use_cutmix: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply mixup or CutMix (one of them, chosen at random, when both are on)."""
    if use_mixup and use_cutmix:
        use_mixup = bool(torch.rand(1) < 0.5)
        use_cutmix = not use_mixup
    if use_mixup:
        return mixup(images, targets)
    if use_cutmix:
        return cutmix(images, targets)
    return images, targets


def _beta(alpha: float) -> float:
    # Drawn from torch's global generator, which the recipe seeds with environment.seed.
    return float(torch.distributions.Beta(alpha, alpha).sample())
