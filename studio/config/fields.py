"""``setting()``: a pydantic Field that also carries what the UI and docs need to know."""
from __future__ import annotations

from typing import Any

from pydantic import Field


def setting(
    default: Any = ...,
    description: str = "",
    *,
    label: str,
    dialog: bool = False,
    problem_types: list[str] | None = None,
    choices: list[Any] | None = None,
    group: str | None = None,
    show_when: dict[str, list[Any]] | None = None,
    multiselect: bool = False,
    needs_gpu: bool = False,
    **bounds: Any,
) -> Any:
    """A config field with its UI metadata.

    dialog: the New Experiment dialog shows it (otherwise only the Advanced YAML does).
    problem_types: the types it applies to (None = all).
    show_when: other field paths and the values that make this field visible,
        e.g. ``{"architecture.training_mode": ["lora", "qlora"]}``.
    needs_gpu: the dialog shows it only on a machine with GPUs.
    """
    extra = {
        "label": label,
        "dialog": dialog,
        "problem_types": problem_types,
        "choices": choices,
        "group": group,
        "show_when": show_when or {},
        "multiselect": multiselect,
        "needs_gpu": needs_gpu,
    }
    if callable(default):
        return Field(default_factory=default, description=description, json_schema_extra=extra, **bounds)
    return Field(default, description=description, json_schema_extra=extra, **bounds)
