"""The New Experiment form as data: which schema fields it shows, and how form values,
the overrides dict and the Advanced YAML text map onto each other.

Everything here is derived from the schema's field metadata (``iter_fields``/``field_meta``);
no default, label or bound is restated. Pure functions, so the two-way YAML sync is testable
without a browser.
"""
from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from studio.config import ConfigError, ExperimentConfig, field_meta, from_dict, iter_fields, parse_overrides
from studio.config.problem_types import LOSS_FUNCTIONS, METRICS
from studio.config.yaml_input import dump_yaml_text
from studio.runner.gpu_inventory import detect_gpus

# Dropdown stand-in for a null choice (Gradio choices cannot be None).
NULL_CHOICE = "(none)"

# Fields whose choices come from live data rather than the schema.
DATASET_FIELDS = ("dataset.train_dataset_id", "dataset.validation_dataset_id")
COLUMN_FIELDS = ("dataset.input_column", "dataset.output_column", "dataset.image_column",
                 "dataset.rejected_output_column", "dataset.system_column")
OPTIONAL_COLUMN_FIELDS = ("dataset.system_column",)  # offered with a "(none)" choice
MULTI_COLUMN_FIELD = "dataset.output_column"  # several columns are concatenated
BACKBONE_FIELD = "llm_backbone"
METRICS_FIELD = "prediction.metrics"
LOSS_FIELD = "training.loss_function"
PROBLEM_TYPE_FIELD = "problem_type"


@dataclass(frozen=True)
class FormField:
    path: str
    label: str
    description: str
    default: Any
    kind: str  # text, longtext, number, integer, checkbox, choice, multichoice, columns
    choices: tuple | None
    problem_types: tuple[str, ...] | None
    show_when: dict
    bounds: str
    needs_gpu: bool = False

    @property
    def section(self) -> str:
        return self.path.split(".")[0] if "." in self.path else "experiment"


@lru_cache(maxsize=1)
def dialog_fields() -> tuple[FormField, ...]:
    """The fields the dialog shows (``dialog=True`` in the schema), in schema order."""
    out = []
    for path, info in iter_fields():
        meta = field_meta(path)
        if not meta.get("dialog"):
            continue
        out.append(FormField(
            path=path,
            label=meta["label"],
            description=meta["description"],
            default=_json_default(path),
            kind=_kind(path, info.annotation, meta),
            choices=tuple(meta["choices"]) if meta.get("choices") else None,
            problem_types=tuple(meta["problem_types"]) if meta.get("problem_types") else None,
            show_when=dict(meta.get("show_when") or {}),
            bounds=_bounds_text(info.metadata),
            needs_gpu=bool(meta.get("needs_gpu")),
        ))
    return tuple(after_their_trigger(out))


def after_their_trigger(fields: list[FormField]) -> list[FormField]:
    """Fields shown by a later field's value (the judge settings, shown by Metrics) placed right
    after that field, so they appear where the choice that reveals them was made."""
    positions = {f.path: i for i, f in enumerate(fields)}
    moved: dict[str, list[FormField]] = {}
    kept = []
    for i, f in enumerate(fields):
        triggers = [p for p in f.show_when if positions.get(p, -1) > i]
        if len(f.show_when) == 1 and triggers:
            moved.setdefault(triggers[0], []).append(f)
        else:
            kept.append(f)
    out = []
    for f in kept:
        out.append(f)
        out.extend(moved.get(f.path, []))
    return out


def field_by_path(path: str) -> FormField:
    for field in dialog_fields():
        if field.path == path:
            return field
    raise KeyError(path)


def _json_default(path: str) -> Any:
    section, _, leaf = path.partition(".")
    dumped = ExperimentConfig().model_dump(mode="json")
    return dumped[section][leaf] if leaf else dumped[section]


def _kind(path: str, annotation: Any, meta: dict) -> str:
    if path in COLUMN_FIELDS:
        return "columns"
    if meta.get("multiselect"):
        return "multichoice"
    if meta.get("choices") or path in DATASET_FIELDS or path == BACKBONE_FIELD:
        return "choice"
    base = _strip_optional(annotation)
    if base is bool:
        return "checkbox"
    if base is int:
        return "integer"
    if base is float:
        return "number"
    if isinstance(meta["default"], str) and "\n" in meta["default"]:
        return "longtext"
    return "text"


def _strip_optional(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)) and len(args) == 1:
        return args[0]
    return annotation


def _bounds_text(metadata: list) -> str:
    parts = []
    for item in metadata:
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
    return ", ".join(parts)


# ---- YAML text <-> overrides dict -------------------------------------------------------

def parse_yaml(text: str) -> dict:
    """The overrides dict of the Advanced YAML editor; ConfigError when it does not parse."""
    return parse_overrides(text)


def dump_overrides(data: dict) -> str:
    return dump_yaml_text(data) if data else ""


def validation_errors(data: dict) -> list[str]:
    try:
        from_dict(data)
    except ConfigError as exc:
        return exc.errors
    return []


def get_value(data: dict, path: str, default: Any = None) -> Any:
    section, _, leaf = path.partition(".")
    if not leaf:
        return data.get(section, default)
    node = data.get(section)
    return node.get(leaf, default) if isinstance(node, dict) else default


def set_value(data: dict, path: str, value: Any, default: Any) -> dict:
    """A copy of ``data`` with ``path`` set, or removed when ``value`` is the default."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    section, _, leaf = path.partition(".")
    if not leaf:
        if value == default:
            out.pop(section, None)
        else:
            out[section] = value
        return out
    if section in out and not isinstance(out[section], dict) and value == default:
        return out  # `training: 5` stays for the user to see listed, until a field really needs the section
    node = out.get(section) if isinstance(out.get(section), dict) else {}
    if value == default:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    if node:
        out[section] = node
    else:
        out.pop(section, None)
    return out


# ---- form values <-> overrides dict -----------------------------------------------------

def form_values(data: dict) -> list[Any]:
    """The value each dialog field shows for the overrides ``data`` (defaults where absent)."""
    return [to_widget(field, get_value(data, field.path, field.default)) for field in dialog_fields()]


def apply_form(data: dict, values: list[Any], keep: set[str] | frozenset = frozenset()) -> dict:
    """``data`` with every dialog field's value written in (defaults dropped), except the ``keep``
    paths: a wrong value typed in the YAML stays there (and listed) until the user edits its field."""
    for field, value in zip(dialog_fields(), values):
        if field.path not in keep:
            data = set_value(data, field.path, from_widget(field, value), field.default)
    return data


def errors_by_field(errors: list[str]) -> dict[str, str]:
    """The first message for each dialog field named in ``errors`` ("path: message")."""
    paths = {field.path for field in dialog_fields()}
    out: dict[str, str] = {}
    for error in errors:
        path, sep, message = error.partition(": ")
        if sep and path in paths and path not in out:
            out[path] = message
    return out


def showable(field: FormField, value: Any, allowed: list | None = None) -> bool:
    """Whether the widget of ``field`` can show the overrides value ``value``: ``batch_size: abc``
    cannot go into a number box, nor ``training_mode: fulll`` into a dropdown (Gradio would refuse
    the next event with a toast). Such a field keeps what it had and is marked with the error.
    ``allowed``: the dropdown's current choice values, when it has fixed ones."""
    if value is None:
        return True
    if field.kind in ("number", "integer"):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if field.kind == "checkbox":
        return isinstance(value, bool)
    if field.kind in ("text", "longtext"):
        return isinstance(value, str)
    if field.kind in ("multichoice", "columns"):
        if field.kind == "multichoice" and not isinstance(value, list):
            return False
        items = value if isinstance(value, list) else [value]
        return all(isinstance(v, str) for v in items) and (allowed is None or all(v in allowed for v in items))
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    return allowed is None or to_widget(field, value) in allowed


def displayable_settings(data: dict) -> dict:
    """``data`` less every dialog value its widget could not show: what visibility, choices and
    hints are derived from while the YAML holds a wrong value (a list as the problem type, say)."""
    out = data
    for field in dialog_fields():
        if not showable(field, get_value(data, field.path), choice_values(field)):
            out = set_value(out, field.path, field.default, field.default)
    return out


def choice_values(field: FormField) -> list | None:
    """The values a schema-choice dropdown offers (None: its choices are live data or free text)."""
    if field.kind not in ("choice", "multichoice") or not field.choices or field.path == BACKBONE_FIELD:
        return None
    return [NULL_CHOICE if c is None else c for c in field.choices]


def same_settings(first: dict, second: dict) -> bool:
    """Whether two override dicts mean the same experiment (explicit defaults count as absent)."""
    try:
        return from_dict(first, check_rules=False) == from_dict(second, check_rules=False)
    except ConfigError:
        return first == second


def to_widget(field: FormField, value: Any) -> Any:
    if field.kind == "columns" and field.path == MULTI_COLUMN_FIELD:
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]
    if field.kind == "multichoice":
        return list(value or [])
    if field.kind == "choice" and value is None:
        return NULL_CHOICE if field.choices and None in field.choices else None
    return value


def from_widget(field: FormField, value: Any) -> Any:
    if field.kind == "columns":
        if field.path != MULTI_COLUMN_FIELD:
            return value or None
        values = [v for v in (value or []) if v not in (None, "")]
        if not values:
            return None
        return values[0] if len(values) == 1 else values
    if field.kind == "multichoice":
        if field.path == METRICS_FIELD:
            return list(value) if value else None  # empty = the problem type's defaults
        return list(value or [])
    if field.kind == "choice":
        return None if value in (NULL_CHOICE, "") else value
    if field.kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)  # 2.5 stays 2.5: the schema refuses it by name rather than the form rounding it
    if field.kind in ("text", "longtext") and value is None:
        return ""
    return value


def visible(field: FormField, data: dict) -> bool:
    """Whether ``field`` applies given the other values (problem type and show_when) and the machine."""
    if field.needs_gpu and not machine_has_gpus():
        return False
    problem_type = get_value(data, PROBLEM_TYPE_FIELD, field_by_path(PROBLEM_TYPE_FIELD).default)
    if field.problem_types and problem_type not in field.problem_types:
        return False
    for other, allowed in field.show_when.items():
        current = get_value(data, other, _json_default(other))
        if isinstance(current, list):
            if not any(item in allowed for item in current if not isinstance(item, (list, dict))):
                return False
        elif isinstance(current, dict) or current not in allowed:
            return False
    return True


@lru_cache(maxsize=1)
def machine_has_gpus() -> bool:
    """Whether this machine has GPUs (asked once: nvidia-smi is slow to call per render)."""
    return bool(detect_gpus())


def metric_choices(data: dict) -> list[str]:
    problem_type = get_value(data, PROBLEM_TYPE_FIELD, field_by_path(PROBLEM_TYPE_FIELD).default)
    return list(METRICS.get(problem_type, [])) if isinstance(problem_type, str) else []


def loss_choices(data: dict) -> list[str]:
    """The loss dropdown's values for the chosen type: "(none)" (its default, the first) and its losses."""
    problem_type = get_value(data, PROBLEM_TYPE_FIELD, field_by_path(PROBLEM_TYPE_FIELD).default)
    return [NULL_CHOICE] + (list(LOSS_FUNCTIONS.get(problem_type, [])) if isinstance(problem_type, str) else [])


def drop_foreign_choices(data: dict) -> dict:
    """After a problem-type change, keep only the metrics and the loss the new type offers."""
    loss = get_value(data, LOSS_FIELD)
    if isinstance(loss, str) and loss not in loss_choices(data):
        data = set_value(data, LOSS_FIELD, None, None)
    chosen = get_value(data, METRICS_FIELD)
    if not chosen or not isinstance(chosen, list):
        return data
    allowed = metric_choices(data)
    kept = [m for m in chosen if m in allowed]
    return set_value(data, METRICS_FIELD, kept or None, None)


SUGGESTED_COLUMN_PATHS = ("dataset.input_column", "dataset.output_column", "dataset.image_column",
                          "dataset.system_column", "dataset.rejected_output_column")


def apply_suggestions(data: dict, suggested: dict, columns: list[str]) -> dict:
    """``data`` after choosing a dataset: its profile's guesses fill what the user has not settled.

    The problem type is taken when the overrides leave it at the default. A column setting is
    replaced by the guess unless it already names a column of the new dataset (the user's choice,
    or a default that fits); a stale system column with no guess is dropped.
    """
    guess = suggested.get("problem_type")
    if guess and PROBLEM_TYPE_FIELD not in data and guess != _json_default(PROBLEM_TYPE_FIELD):
        data = {PROBLEM_TYPE_FIELD: guess, **data}
    for path in SUGGESTED_COLUMN_PATHS:
        key = path.split(".", 1)[1]
        default = _json_default(path)
        current = get_value(data, path, default)
        names = current if isinstance(current, list) else [current]
        if current not in (None, "", []) and all(n in columns for n in names):
            continue
        if suggested.get(key):
            data = set_value(data, path, suggested[key], default)
        elif path == "dataset.system_column":
            data = set_value(data, path, default, default)
    return data


def fit_backbone(data: dict, fitting: list[str], registered: set[str]) -> dict:
    """``data`` with a model that fits its problem type: a registered model made for another type
    (the default LLM after choosing Image Classification, say) becomes the first fitting one.
    A model the registry does not list (a typed Hub id or folder) is the user's call and stays."""
    current = get_value(data, BACKBONE_FIELD, _json_default(BACKBONE_FIELD))
    if not fitting or not isinstance(current, str) or current in fitting or current not in registered:
        return data
    return set_value(data, BACKBONE_FIELD, fitting[0], _json_default(BACKBONE_FIELD))
