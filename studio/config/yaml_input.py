"""Parse YAML a user typed, within bounds that keep a hostile document cheap.

The Advanced editor re-validates on every keystroke and the CLI reads whatever file it is
given, so the parser must answer fast for anything: a 602-byte "billion laughs" of nested
aliases expands to gigabytes, 100,000 keys cost minutes in the key checks, and flow nesting
beyond Python's recursion limit crashes the composer. One pass over libyaml's event stream
refuses aliases, deep nesting, too many keys or values and over-long numbers before anything
is built; only a document inside the bounds is then constructed (by libyaml again).
"""
from __future__ import annotations

from typing import Any

import yaml

from .errors import ConfigError

MAX_YAML_CHARS = 100_000
MAX_DEPTH = 10  # the schema needs 3: sections, their keys, list values
MAX_KEYS = 500  # the whole schema has under 100
MAX_VALUES = 5_000  # scalars and collections together
MAX_NUMBER_DIGITS = 100

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


def parse_yaml_text(text: str) -> Any:
    """The Python value of ``text``; ConfigError with one short message when it is refused."""
    if not text or not text.strip():
        return None
    if len(text) > MAX_YAML_CHARS:
        raise ConfigError([f"YAML: the document has {len(text):,} characters; at most {MAX_YAML_CHARS:,} are read"])
    try:
        _check_events(text)
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = str(getattr(exc, "problem", None) or exc)[:200]
        raise ConfigError([f"YAML: cannot parse{where}: {problem}"]) from None


def dump_yaml_text(data: Any) -> str:
    """``data`` as YAML that ``parse_yaml_text`` reads back: never an alias, even for a list
    that appears twice (PyYAML would otherwise write ``&id001`` / ``*id001``)."""
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=100)


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _check_events(text: str) -> None:
    """Walk the event stream once; stop at the first bound it breaks."""
    stack: list[list] = []  # per open collection: [is_mapping, items seen, its last key]
    keys = values = documents = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                _refuse(event, "only one document is read; remove the extra '---'")
            continue
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            stack.pop()
            continue
        if isinstance(event, yaml.AliasEvent):
            _refuse(event, f"aliases (*{str(event.anchor)[:40]}) are not accepted; write the value out", stack)
        if not isinstance(event, yaml.NodeEvent):
            continue
        values += 1
        if values > MAX_VALUES:
            _refuse(event, f"more than {MAX_VALUES:,} values")
        if stack and stack[-1][0]:
            if stack[-1][1] % 2 == 0:
                keys += 1
                if keys > MAX_KEYS:
                    _refuse(event, f"more than {MAX_KEYS} keys")
                stack[-1][2] = str(getattr(event, "value", ""))[:40]
            stack[-1][1] += 1
        if isinstance(event, yaml.ScalarEvent):
            _check_number(event, stack)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(stack) >= MAX_DEPTH:
                _refuse(event, f"nested deeper than {MAX_DEPTH} levels", stack)
            stack.append([isinstance(event, yaml.MappingStartEvent), 0, None])


def _check_number(event: yaml.ScalarEvent, stack: list[list]) -> None:
    # Python refuses int() of over 4,300 decimal digits, and a hexadecimal or sexagesimal one
    # builds an integer whose every later repr() fails: no setting needs such a number.
    value = event.value
    if len(value) > MAX_NUMBER_DIGITS:
        tag = event.tag if event.tag not in (None, "!") else \
            _RESOLVER.resolve(yaml.ScalarNode, value, event.implicit) if event.implicit[0] else None
        if tag in (_INT_TAG, _FLOAT_TAG):
            _refuse(event, f"a number written with {len(value):,} characters; at most {MAX_NUMBER_DIGITS} "
                    "are accepted", stack)


def _key_path(stack: list[list]) -> str:
    """The dotted keys leading to the event just read (its own key included once it is a value)."""
    parts = []
    for depth, (is_mapping, seen, key) in enumerate(stack):
        at_key = depth == len(stack) - 1 and seen % 2 == 1  # the event was this mapping's key
        if is_mapping and key is not None and not at_key:
            parts.append(key)
    return ".".join(parts)[:120]


def _refuse(event: yaml.Event, problem: str, stack: list[list] | None = None) -> None:
    """ConfigError for ``event``: named by its field path when ``stack`` gives one, else by line."""
    mark = event.start_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    path = _key_path(stack) if stack else ""
    if path:
        raise ConfigError([f"{path}: {problem} ({where})" if where else f"{path}: {problem}"])
    raise ConfigError([f"YAML: refused at {where}: {problem}" if where else f"YAML: refused: {problem}"])


class _BoundedLoader(_Loader):  # type: ignore[misc, valid-type]
    """libyaml's safe loader; mapping keys become text, as every key of the schema is."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise yaml.constructor.ConstructorError(
                        None, None, "a key must be a name, not a list or mapping", key_node.start_mark)
                # `on:`, `1:` or `null:` are still the names the user typed, not a bool/int/None.
                key_node.tag = "tag:yaml.org,2002:str"
        return super().construct_mapping(node, deep=deep)
