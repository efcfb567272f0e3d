"""The AutoML study settings as form fields, generated from ``studio.config.study`` (never hand-listed).

Used by the New Experiment dialog's AutoML switch and the AutoML action of an experiment. Every
field is text (lists comma-separated) or a choice; ``settings_from_form`` in the schema reads it.
"""
from __future__ import annotations

import gradio as gr

from studio.config.study import StudySettings, form_fields, form_text

AUTO = "auto"  # how a choice of None (the metric's own direction) reads in a dropdown


def build() -> dict:
    """The fields in rows of four; returns {"components": [...], "paths": [...]} in form order."""
    defaults = StudySettings().model_dump(mode="json")
    components, paths = [], []
    fields = form_fields()
    for start in range(0, len(fields), 4):
        with gr.Row(equal_height=True):
            for path, info in fields[start:start + 4]:
                meta = info.json_schema_extra or {}
                value = _default(defaults, path)
                elem_id = "study-" + path.replace(".", "-").replace("_", "-")
                if meta.get("choices"):
                    choices = [AUTO if c is None else c for c in meta["choices"]]
                    component = gr.Dropdown(choices=choices, value=AUTO if value is None else value,
                                            label=meta["label"], info=info.description, elem_id=elem_id)
                else:
                    component = gr.Textbox(value=form_text(path, value), label=meta["label"], info=info.description,
                                           elem_id=elem_id)
                components.append(component)
                paths.append(path)
    return {"components": components, "paths": paths}


def values_by_path(paths: list[str], values: list) -> dict:
    return {path: (None if value == AUTO else value) for path, value in zip(paths, values)}


def _default(defaults: dict, path: str):
    value = defaults
    for part in path.split("."):
        value = value[part]
    return value
