"""A Completed text run whose merged model differs from its local base model, for the side-by-side chat tests."""
from __future__ import annotations

import json

import yaml

from studio import paths


def run_with_base_model(store, home, name: str, backbone, problem_type: str = "text_causal_language_modeling",
                        project_id: str | None = None) -> dict:
    from training.tiny_models import build_llama

    row = store.experiments.add({"name": name, "status": "Completed", "problem_type": problem_type,
                                 "backbone": str(backbone), **({"project_id": project_id} if project_id else {})})
    run = paths.run_dir(row["id"], home)
    build_llama(run / "checkpoint" / "model", seed=11)
    (run / "status.json").write_text(json.dumps({"status": "Completed"}))
    (run / "config.yaml").write_text(yaml.safe_dump({"problem_type": problem_type, "llm_backbone": str(backbone)}))
    return row
