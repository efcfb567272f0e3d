"""Deployment names and API keys are checked before a row exists: a refused one leaves nothing behind."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from studio.services.deploy import DeployError, DeploymentService
from studio.store import Store


@pytest.fixture()
def service(studio_home, tiny_llama_dir):
    import shutil

    run = studio_home / "runs" / "done"
    (run / "checkpoint").mkdir(parents=True)
    shutil.copytree(tiny_llama_dir, run / "checkpoint" / "model")
    (run / "status.json").write_text(json.dumps({"status": "Completed"}))
    (run / "config.yaml").write_text(yaml.safe_dump({"problem_type": "text_causal_language_modeling",
                                                     "experiment_name": "x" * 300}))
    return DeploymentService(Store(studio_home), studio_home)


@pytest.mark.parametrize("name, api_key, message", [
    ("nul\x00", None, "deployment name: character 4 is the control character U+0000"),
    ("d" * 101, None, "deployment name: can have at most 100 characters"),
    ("bad\ud800", None, "deployment name: character 4 is a lone surrogate"),
    ("ok", "sk-\x00key", "API key: character 4 is the control character U+0000"),
])
def test_bad_name_or_key_is_refused_and_stores_nothing(service, name, api_key, message):
    with pytest.raises(DeployError, match=re.escape(message)):
        service.create("done", name=name, api_key=api_key, start=False)
    assert service.list() == [] and service.store.secrets.keys() == []


def test_generated_name_from_an_old_long_experiment_name_is_cut_to_the_limit(service):
    row = service.create("done", start=False)
    assert row["name"] == "x" * 100
