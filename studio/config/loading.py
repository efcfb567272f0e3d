"""Build an ExperimentConfig from YAML or a dict, reporting every problem at once."""
from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import MAX_ERRORS, ConfigError, short_repr
from .experiment import ExperimentConfig, iter_fields
from .yaml_input import dump_yaml_text, parse_yaml_text


def load_yaml(text: str) -> ExperimentConfig:
    """Parse a user YAML holding only the keys it overrides; everything else is the default."""
    return from_dict(parse_overrides(text))


def parse_overrides(text: str) -> dict[str, Any]:
    """The mapping a user YAML holds (not yet validated); ConfigError when it does not parse
    or breaks the bounds of ``yaml_input`` (aliases, size, depth, key count)."""
    data = parse_yaml_text(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(["YAML: the top level must be a mapping of keys to values"])
    return data


def from_dict(data: dict[str, Any], *, check_rules: bool = True) -> ExperimentConfig:
    """Validate ``data``; unknown keys, bad values and broken rules are all reported together."""
    if not isinstance(data, dict):
        raise ConfigError(["the configuration must be a mapping of keys to values"])
    problems = _key_problems(data)
    errors = [message for _, message in problems]
    data = _without(data, {where for where, _ in problems})
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        bad = [err for err in exc.errors()]
        errors += [_describe(err) for err in bad]
        # Drop the bad values so the cross-field rules can still be checked on the rest.
        try:
            config = ExperimentConfig.model_validate(_without(data, {_path(err) for err in bad}))
        except ValidationError:
            config = None
    if config is not None and check_rules:
        errors += config.rule_violations()
    if errors:
        raise ConfigError(errors)
    return config


def _without(data: dict[str, Any], paths: set) -> dict[str, Any]:
    """``data`` less the keys named in ``paths``: dotted texts or (key,) / (section, key) tuples."""
    out = {}
    for key, value in data.items():
        if key in paths or (key,) in paths:
            continue
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if f"{key}.{k}" not in paths and (key, k) not in paths}
        out[key] = value
    return out


def dump_yaml(config: ExperimentConfig) -> str:
    """The full config as YAML; load_yaml(dump_yaml(x)) == x."""
    return dump_yaml_text(config.model_dump(mode="json"))


def overrides(config: ExperimentConfig) -> dict[str, Any]:
    """Only the keys whose value differs from the default, nested by section."""
    defaults = ExperimentConfig().model_dump(mode="json")
    current = config.model_dump(mode="json")
    out: dict[str, Any] = {}
    for key, value in current.items():
        if isinstance(value, dict):
            changed = {k: v for k, v in value.items() if defaults[key].get(k) != v}
            if changed:
                out[key] = changed
        elif defaults.get(key) != value:
            out[key] = value
    return out


def overrides_yaml(config: ExperimentConfig) -> str:
    data = overrides(config)
    return dump_yaml_text(data) if data else ""


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``extra`` onto ``base`` (sections merge key by key)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key].update(value)
        else:
            out[key] = value
    return out


def unknown_key_errors(data: dict[str, Any]) -> list[str]:
    return [message for _, message in _key_problems(data)]


def _key_problems(data: dict[str, Any]) -> list[tuple[tuple, str]]:
    """(where, message) for each key that is not in the schema; ``where`` holds the keys themselves."""
    valid = [path for path, _ in iter_fields()]
    sections = {name for name, info in ExperimentConfig.model_fields.items()
                if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)}
    problems = []
    for key, value in data.items():
        if key in sections:
            if value is None:
                continue
            if not isinstance(value, dict):
                problems.append(((key,), f"{key}: must be a mapping of keys to values (got {short_repr(value)})"))
                continue
            for sub in value:
                path = f"{key}.{sub}"
                if path not in valid:
                    problems.append(((key, sub), _unknown(path, valid, hint=len(problems) < MAX_ERRORS)))
        elif key not in valid:
            problems.append(((key,), _unknown(str(key), valid, hint=len(problems) < MAX_ERRORS)))
    return problems


# Longer than any schema name: a closest-key search on it would only cost time.
_MAX_KEY_CHARS = 80


def _unknown(path: str, valid: list[str], hint: bool = True) -> str:
    """The unknown-key message; ``hint`` searches the closest valid key (for the errors that are shown)."""
    if len(path) > _MAX_KEY_CHARS:
        return f"{path[:_MAX_KEY_CHARS]}…: unknown key"
    if not hint:
        return f"{path}: unknown key"
    leaf_matches = [v for v in valid if v.split(".")[-1] == path.split(".")[-1]]
    close = leaf_matches or difflib.get_close_matches(path, valid, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(path.split(".")[-1], [v.split(".")[-1] for v in valid], n=1, cutoff=0.6)
        close = [v for v in valid if close and v.endswith("." + close[0])]
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"{path}: unknown key{hint}"


def _path(err: dict[str, Any]) -> str:
    parts = [str(p) for p in err["loc"] if not isinstance(p, int)]
    return ".".join(parts[:2] if parts and parts[0] in _SECTION_NAMES else parts[:1])


_SECTION_NAMES = {"dataset", "tokenizer", "architecture", "training", "prediction", "environment"}


def _describe(err: dict[str, Any]) -> str:
    path = _path(err)
    msg = err["msg"]
    if err["type"] == "literal_error":
        msg = "must be one of " + err["ctx"]["expected"]
    elif err["type"] == "int_from_float":
        msg = "must be a whole number"
    return f"{path}: {msg} (got {short_repr(err.get('input'))})"
