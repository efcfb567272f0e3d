"""The README.md model card pushed with a run's model: what it is, how it was trained, how it scored."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from studio.runner.run_folder_reader import read_final_metrics

PIPELINE_TAGS = {
    "text_causal_language_modeling": "text-generation",
    "text_dpo_modeling": "text-generation",
    "text_causal_classification_modeling": "text-classification",
    "image_classification": "image-classification",
    "multimodal_causal_language_modeling": "image-text-to-text",
    "object_detection": "object-detection",
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
KEY_HYPERPARAMETERS = [
    ("architecture", "training_mode"), ("training", "learning_rate"), ("training", "epochs"),
    ("training", "batch_size"), ("training", "grad_accumulation"), ("training", "optimizer"),
    ("training", "schedule"), ("training", "lora_rank"), ("training", "lora_alpha"),
    ("training", "lora_dropout"), ("tokenizer", "max_length"), ("environment", "seed"),
]


def build_model_card(run_dir: str | Path, repo_id: str, what: str = "merged", dataset_name: str | None = None) -> str:
    run_dir = Path(run_dir)
    config = _read_yaml(run_dir / "config.yaml")
    metrics = read_final_metrics(run_dir) or {}
    problem_type = config.get("problem_type", "")
    backbone = str(config.get("llm_backbone") or "")
    dataset = dataset_name or (config.get("dataset") or {}).get("train_dataset_id") or "unknown"
    front = {"library_name": "peft" if what == "adapter" else "transformers",
             "tags": [t for t in ["studio", problem_type, (config.get("architecture") or {}).get("training_mode")] if t]}
    # Local folders (tiny test models, offline backbones) are not Hub ids and would fail Hub validation.
    if _HUB_ID.match(backbone) and not Path(backbone).exists():
        front["base_model"] = backbone
    if problem_type in PIPELINE_TAGS:
        front["pipeline_tag"] = PIPELINE_TAGS[problem_type]

    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "",
             f"# {repo_id.split('/')[-1]}", "",
             f"Fine-tuned with Studio from `{backbone or 'unknown'}` on the dataset **{dataset}** "
             f"(problem type `{problem_type or 'unknown'}`).",
             "", "This repository holds the " + ("LoRA adapter (load it on top of the base model with peft)."
                                                 if what == "adapter" else "merged model weights and tokenizer."),
             "", "## Training hyperparameters", "", "| Setting | Value |", "|---|---|"]
    for section, key in KEY_HYPERPARAMETERS:
        value = (config.get(section) or {}).get(key)
        if value is not None:
            lines.append(f"| {section}.{key} | {value} |")
    lines += ["", "## Final validation metrics", ""]
    if metrics:
        lines += ["| Metric | Value |", "|---|---|"]
        lines += [f"| {name} | {_fmt(value)} |" for name, value in metrics.items() if not isinstance(value, dict)]
        best = metrics.get("best")
        if isinstance(best, dict) and best.get("step") is not None:
            scores = ", ".join(f"{k} {_fmt(v)}" for k, v in best.items() if k not in ("step", "epoch"))
            lines += ["", f"Best evaluation: step {best['step']} (epoch {_fmt(best.get('epoch'))}): {scores}."]
    else:
        lines.append("No validation metrics were recorded for this run.")
    lines += ["", "## Usage", "", "```python", *_usage(repo_id, problem_type, what), "```", ""]
    return "\n".join(lines)


def _usage(repo_id: str, problem_type: str, what: str) -> list[str]:
    if what == "adapter":
        return ["from peft import AutoPeftModelForCausalLM",
                f'model = AutoPeftModelForCausalLM.from_pretrained("{repo_id}")']
    auto_class = {"text_causal_classification_modeling": "AutoModelForSequenceClassification",
                  "image_classification": "AutoModelForImageClassification",
                  "multimodal_causal_language_modeling": "AutoModelForImageTextToText"}.get(
        problem_type, "AutoModelForCausalLM")
    return [f"from transformers import {auto_class}", f'model = {auto_class}.from_pretrained("{repo_id}")']


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}
