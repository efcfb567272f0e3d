"""The README's front matter is a valid Hugging Face Space configuration for this app."""
from __future__ import annotations

from pathlib import Path

import gradio
import yaml

ROOT = Path(__file__).resolve().parents[2]
COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
# The keys of https://huggingface.co/docs/hub/spaces-config-reference that a Gradio Space may use here.
KNOWN_KEYS = {"title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "python_version", "app_file",
              "pinned", "suggested_hardware", "hf_oauth", "hf_oauth_scopes", "hf_oauth_expiration_minutes",
              "short_description", "license", "tags", "models", "datasets", "startup_duration_timeout"}


def test_readme_front_matter_configures_a_gradio_space_that_runs_app_py():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    config = yaml.safe_load(text.split("---\n", 2)[1])

    assert set(config) <= KNOWN_KEYS, set(config) - KNOWN_KEYS
    assert config["sdk"] == "gradio" and (ROOT / config["app_file"]).is_file()
    assert config["colorFrom"] in COLOURS and config["colorTo"] in COLOURS
    assert isinstance(config["title"], str) and config["title"]
    # The Space installs a Gradio of the major version this app is built and tested with (requirements.txt).
    assert str(config["sdk_version"]).split(".")[0] == gradio.__version__.split(".")[0]
    assert isinstance(config["python_version"], str)
    # Hugging Face sign-in (docs/sign_in.md): Gradio's OAuth routes on a Space import authlib.
    assert config.get("hf_oauth") is True
    assert "authlib" in (ROOT / "requirements.txt").read_text(encoding="utf-8")
