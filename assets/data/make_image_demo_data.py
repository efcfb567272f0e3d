"""Generate the small image demo datasets shipped in assets/data (deterministic, seconds to run).

    python assets/data/make_image_demo_data.py [OUT_DIR]

- demo_colors_images.parquet   image_classification: a coloured square on a light background,
                               ``output`` = its colour name.
- demo_boxes_detection.parquet object_detection: one filled rectangle on a plain background,
                               ``output`` = COCO annotations as a JSON string {"bbox": [[x, y, w, h]],
                               "category": [0 for red, 1 for blue]}.
- demo_colors_vqa.parquet      multimodal_causal_language_modeling: ``input`` "What colour is the
                               square?", ``output`` the colour name.

Images are PNG bytes in an ``image`` column, the layout Studio's dataset import produces.
"""
from __future__ import annotations

import io
import json
import random
import sys
from pathlib import Path

import pandas as pd
from PIL import Image, ImageDraw

COLOURS = {"red": (220, 30, 30), "green": (30, 170, 40), "blue": (30, 60, 220)}
DETECTION_COLOURS = {0: COLOURS["red"], 1: COLOURS["blue"]}
QUESTION = "What colour is the square?"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _background(rng: random.Random, size: int) -> Image.Image:
    shade = rng.randint(200, 250)
    return Image.new("RGB", (size, size), (shade, shade, shade))


def colour_square(rng: random.Random, colour: str, size: int = 32) -> bytes:
    """A square of ``colour`` (12-24 px, random place) on a light grey background."""
    image = _background(rng, size)
    side = rng.randint(size * 3 // 8, size * 3 // 4)
    x, y = rng.randint(0, size - side), rng.randint(0, size - side)
    ImageDraw.Draw(image).rectangle([x, y, x + side - 1, y + side - 1], fill=COLOURS[colour])
    return _png(image)


def colours_classification(rows: int = 120, seed: int = 0, size: int = 32) -> pd.DataFrame:
    rng = random.Random(seed)
    names = [list(COLOURS)[i % len(COLOURS)] for i in range(rows)]
    rng.shuffle(names)
    return pd.DataFrame({"image": [colour_square(rng, n, size) for n in names], "output": names})


def colours_vqa(rows: int = 120, seed: int = 1, size: int = 32) -> pd.DataFrame:
    frame = colours_classification(rows, seed, size)
    return pd.DataFrame({"image": frame["image"], "input": QUESTION, "output": frame["output"]})


def boxes_detection(rows: int = 120, seed: int = 2, size: int = 32) -> pd.DataFrame:
    """One rectangle per image covering roughly a quarter to a half of it, category by colour."""
    rng = random.Random(seed)
    images, annotations = [], []
    for i in range(rows):
        category = i % 2
        image = _background(rng, size)
        w, h = rng.randint(size // 2, size * 3 // 4), rng.randint(size // 2, size * 3 // 4)
        x, y = rng.randint(0, size - w), rng.randint(0, size - h)
        ImageDraw.Draw(image).rectangle([x, y, x + w - 1, y + h - 1], fill=DETECTION_COLOURS[category])
        images.append(_png(image))
        annotations.append(json.dumps({"bbox": [[x, y, w, h]], "category": [category]}))
    return pd.DataFrame({"image": images, "output": annotations})


DATASETS = {
    "demo_colors_images.parquet": colours_classification,
    "demo_boxes_detection.parquet": boxes_detection,
    "demo_colors_vqa.parquet": colours_vqa,
}


def main(out_dir: str | Path = Path(__file__).resolve().parent) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, make in DATASETS.items():
        path = out_dir / name
        make().to_parquet(path, index=False)
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main(*sys.argv[1:])
