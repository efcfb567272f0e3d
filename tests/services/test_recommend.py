"""Ask KGM recommendations follow the run's curves."""
import math

from studio.config import from_dict
from studio.services.recommend import recommend

CONFIG = from_dict({"dataset": {"train_dataframe": "t.csv"}, "training": {"epochs": 2, "learning_rate": 1e-4}})


def curve(split, values, start=0):
    return [{"step": start + i * 10, "epoch": (start + i * 10) / 100, "split": split, "name": "loss", "value": v}
            for i, v in enumerate(values)]


def test_overfitting_run_is_told_to_stop_at_the_best_epoch():
    metrics = curve("train", [3, 2.5, 2, 1.5, 1, 0.5, 0.2, 0.1]) + curve("validation", [2.0, 1.5, 1.8, 2.2])
    rec = recommend(CONFIG, metrics)
    assert "overfit" in rec.title.lower()
    assert rec.overrides["training"]["epochs"] < 2
    assert rec.apply_to(CONFIG).training.epochs == rec.overrides["training"]["epochs"]


def test_flat_loss_raises_the_learning_rate():
    rec = recommend(CONFIG, curve("train", [2.0, 2.0, 1.99, 1.995, 1.99, 1.99, 1.99, 1.99]))
    assert rec.overrides["training"]["learning_rate"] > 1e-4


def test_nan_loss_lowers_the_learning_rate_and_clips():
    rec = recommend(CONFIG, curve("train", [2.0, 1.9, math.nan, math.nan]))
    assert rec.overrides["training"]["learning_rate"] < 1e-4
    assert rec.overrides["training"]["gradient_clip"] == 1.0


def test_still_improving_run_trains_longer():
    metrics = curve("train", [3, 2.8, 2.6, 2.4, 2.2, 2.0, 1.8, 1.6]) + curve("validation", [2.9, 2.5, 2.1])
    assert recommend(CONFIG, metrics).overrides["training"]["epochs"] == 4


def test_out_of_memory_failure_keeps_the_effective_batch():
    config = from_dict({"dataset": {"train_dataframe": "t.csv"}, "training": {"batch_size": 8}})
    rec = recommend(config, [], status="Failed", error="CUDA out of memory. Tried to allocate 2 GiB")
    assert rec.overrides["training"] == {"batch_size": 4, "grad_accumulation": 2}
