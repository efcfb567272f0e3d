"""The Deployments page's snippets work as copied: run against real deployments of each model kind."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import yaml

from tests.services.test_deploy import completed_run, service  # noqa: F401 (the deployment service fixture)

API_KEY = "sk-snippet-key-0123456789abcdef"


def run_snippets(snippets: dict, folder) -> dict:
    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (40, 40), (20, 120, 200)).save(image, format="PNG")
    (folder / "picture.png").write_bytes(image.getvalue())
    env = dict(os.environ, STUDIO_API_KEY=API_KEY)
    python = subprocess.run([sys.executable, "-c", snippets["python"]], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=120)
    assert python.returncode == 0, python.stderr[-2000:]
    curl = subprocess.run(["bash", "-c", snippets["curl"]], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120)
    assert curl.returncode == 0, curl.stderr[-2000:]
    return {"python": python.stdout, "curl": json.loads(curl.stdout)}


def test_image_classifier_snippets_send_an_image_and_get_a_label(service, studio_home, tiny_vit_dir, tmp_path):
    completed_run(studio_home, "vit", tiny_vit_dir, problem_type="image_classification")
    row = service.wait_ready(service.create("vit", api_key=API_KEY)["id"], timeout=180)
    snippets = service.snippets(row["id"])
    assert "image_url" in snippets["curl"] and "base64" in snippets["python"]
    assert API_KEY not in json.dumps(snippets)
    answers = run_snippets(snippets, tmp_path)
    labels = set(answers["curl"]["studio_probabilities"])
    assert answers["curl"]["choices"][0]["message"]["content"] in labels
    first_line, probabilities = answers["python"].splitlines()[:2]
    assert first_line in labels and set(eval(probabilities)) == labels  # noqa: S307 (our own printed dict)


def test_text_model_snippets_use_the_runs_prediction_settings(service, studio_home, tiny_llama_dir, tmp_path):
    run = completed_run(studio_home, "llm", tiny_llama_dir)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["prediction"] = {"max_length_inference": 5, "min_length_inference": 5, "temperature": 0.0,
                            "repetition_penalty": 1.3}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    row = service.wait_ready(service.create("llm", api_key=API_KEY)["id"], timeout=180)
    snippets = service.snippets(row["id"])
    assert "max_tokens=5," in snippets["python"] and '"repetition_penalty": 1.3' in snippets["python"]
    answers = run_snippets(snippets, tmp_path)
    # curl leaves the settings out: the server applies the run's (5 new tokens, no fewer).
    assert answers["curl"]["usage"]["completion_tokens"] == 5
    assert answers["python"].strip() == answers["curl"]["choices"][0]["message"]["content"].strip()
