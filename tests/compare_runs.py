"""Completed experiments with run folders for the Compare tests and benchmark (metrics as a run writes them)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import yaml

from studio import paths

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "data"


def completed_run(store, home, name: str, learning_rate: float, points: int = 20, quality: float = 1.0,
                  problem_type: str = "text_causal_language_modeling", dataset: dict | None = None,
                  predictions: pd.DataFrame | None = None) -> dict:
    """A completed experiment whose loss falls faster with a larger ``quality``; Perplexity = exp(val loss).

    ``dataset`` is its config's dataset section; ``predictions`` its predictions.parquet (three text
    answers by default)."""
    row = store.experiments.add({"name": name, "status": "Completed", "problem_type": problem_type,
                                 "runtime_s": 60.0 * points / 20, "gpus": ["0"]})
    run = paths.run_dir(row["id"], home)
    run.mkdir(parents=True)
    config = {"problem_type": problem_type, "llm_backbone": "tiny", "training": {"learning_rate": learning_rate,
              "epochs": 1, "batch_size": 8, "lora_rank": 4}, "tokenizer": {"max_length": 64}}
    if dataset:
        config["dataset"] = dataset
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    lines = []
    for step in range(1, points + 1):
        loss = 3.0 * math.exp(-quality * step / points) + 0.1
        lines.append({"step": step, "epoch": step / points, "time": step, "split": "train", "name": "loss",
                      "value": loss})
        if step % max(1, points // 10) == 0:
            lines += [{"step": step, "epoch": step / points, "time": step, "split": "validation", "name": "loss",
                       "value": loss + 0.05},
                      {"step": step, "epoch": step / points, "time": step, "split": "validation",
                       "name": "Perplexity", "value": math.exp(loss + 0.05)}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    final_loss = 3.0 * math.exp(-quality) + 0.15
    (run / "final_metrics.json").write_text(json.dumps({"loss": final_loss, "Perplexity": math.exp(final_loss),
                                                        "best": {"step": points, "Perplexity": math.exp(final_loss)}}))
    if predictions is None:
        predictions = pd.DataFrame({"row": [1, 2, 3], "prompt": ["a", "b", "c"], "target": ["x", "y", "z"],
                                    "prediction": [f"{name}-{i}" for i in range(3)]})
    predictions.to_parquet(run / "predictions.parquet")
    return row


def completed_image_runs(store, home, names: list[str], problem_type: str = "image_classification") -> list[dict]:
    """Completed runs of one image problem type on an imported demo image dataset (the rows' images are in its
    data.parquet): each predicts validation rows 1, 2 and 3, every run a different answer for row 1."""
    from studio.datasets import import_dataset

    demo = "demo_boxes_detection.parquet" if problem_type == "object_detection" else "demo_colors_images.parquet"
    dataset = import_dataset(store, ASSETS / demo, demo, "demo images")
    truth = pd.read_parquet(ASSETS / demo)["output"].tolist()
    runs = []
    for index, name in enumerate(names):
        answers = [truth[0] if index == 0 else truth[1], truth[1], truth[2]]
        predictions = pd.DataFrame({"row": [1, 2, 3], "target": truth[:3], "prediction": answers})
        runs.append(completed_run(store, home, name, 1e-4 * (index + 1), quality=1.0 + index,
                                  problem_type=problem_type, predictions=predictions,
                                  dataset={"train_dataset_id": dataset["id"], "image_column": "image",
                                           "output_column": "output"}))
    return runs


def completed_evaluation(store, home, experiment: dict, baseline: str, baseline_name: str,
                         outcomes: list[str]) -> dict:
    """A finished "Evaluate against…" of ``experiment``: its record and folder as the pairwise worker leaves them."""
    from studio.atomic_io import write_json_atomic
    from studio.services.pairwise_judge import win_rate

    record = store.evaluations.add({"experiment_id": experiment["id"], "project_id": experiment.get("project_id"),
                                    "baseline": baseline, "baseline_name": baseline_name, "judge_model": "judge",
                                    "prompts": len(outcomes)})
    folder = paths.run_dir(experiment["id"], home) / "evaluations" / record["id"]
    folder.mkdir(parents=True)
    pd.DataFrame({"prompt": [f"p{i}" for i in range(len(outcomes))], "outcome": outcomes}).to_parquet(
        folder / "verdicts.parquet")
    write_json_atomic(folder / "result.json", {**win_rate(outcomes).as_dict(), "candidate": experiment["name"],
                                               "baseline": baseline_name, "judge_model": "judge"})
    write_json_atomic(folder / "status.json", {"status": "Completed", "progress": 1.0, "stage": "done",
                                               "error": None})
    return record
