"""Hostile YAML through the one config loader: refused fast, with short field-path messages.

Each class of attack the review found (alias bombs, huge key counts, deep nesting, numbers
past Python's digit limit, non-finite floats, deep JSON in the kwargs fields) is generated
here with hypothesis; every case must end in a config or a ConfigError, within 1 s of CPU,
with every message short. CPU time (not wall time) keeps the bound honest on a busy machine.
"""
from __future__ import annotations

import json
import time
import tracemalloc

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from studio.config import ConfigError, ExperimentConfig, iter_fields, load_yaml
from studio.config.errors import MAX_ERRORS

MAX_CPU_S = 1.0
MAX_MESSAGE_CHARS = 400
CASES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FLOAT_FIELDS = [path for path, info in iter_fields() if float in (info.annotation, *getattr(info.annotation, "__args__", ()))]
FIELD_PATHS = [path for path, _ in iter_fields()]
assert {"training.weight_decay", "training.gradient_clip", "training.warmup_epochs", "prediction.repetition_penalty",
        "training.evaluation_epochs", "training.differential_learning_rate"} <= set(FLOAT_FIELDS)


def load_within_bounds(text: str) -> list[str]:
    """The errors ``load_yaml`` reports for ``text`` ([] if valid), asserting time and message size."""
    start = time.thread_time()
    try:
        load_yaml(text)
        errors: list[str] = []
    except ConfigError as exc:
        errors = exc.errors
    spent = time.thread_time() - start
    assert spent < MAX_CPU_S, f"{spent:.2f} s of CPU for a {len(text):,}-character document"
    assert len(errors) <= MAX_ERRORS + 1
    for message in errors:
        assert len(message) <= MAX_MESSAGE_CHARS, message[:200]
    return errors


def nested(path: str, value: str) -> str:
    section, _, leaf = path.partition(".")
    return f"{section}:\n  {leaf}: {value}\n" if leaf else f"{section}: {value}\n"


def billion_laughs(levels: int, width: int, path: str = "prediction.metrics") -> str:
    lines = ["a0: &a0 [lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n" + nested(path, f"*a{levels}")


def test_the_602_byte_billion_laughs_is_refused_at_once_in_little_memory():
    text = billion_laughs(8, 9)
    tracemalloc.start()
    try:
        errors = load_within_bounds(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert errors == ["a1: aliases (*a0) are not accepted; write the value out (line 2, column 10)"]
    assert peak < 16 * 2**20


def test_a_hundred_thousand_unknown_keys_are_refused_by_size():
    errors = load_within_bounds("".join(f"key{i}: 1\n" for i in range(100_000)))
    assert errors[0].startswith("YAML: the document has") and len(errors) == 1


def test_keys_beyond_the_bound_are_refused_even_in_a_small_document():
    errors = load_within_bounds("{" + ", ".join(f"k{i}: 1" for i in range(600)) + "}")
    assert errors == ["YAML: refused at line 1, column 4392: more than 500 keys"]


@CASES
@given(levels=st.integers(1, 12), width=st.integers(1, 12), path=st.sampled_from(FIELD_PATHS))
def test_alias_bombs_are_refused(levels, width, path):
    errors = load_within_bounds(billion_laughs(levels, width, path))
    assert len(errors) == 1 and "aliases" in errors[0]


@CASES
@given(keys=st.integers(501, 12_000), in_section=st.booleans())
def test_huge_key_counts_are_refused(keys, in_section):
    body = "".join(f"  k{i}: {i}\n" for i in range(keys))
    errors = load_within_bounds("training:\n" + body if in_section else body.replace("  ", ""))
    assert len(errors) == 1 and errors[0].startswith("YAML:")


@CASES
@given(depth=st.integers(11, 15_000), kind=st.sampled_from(["flow-list", "flow-map", "block"]))
def test_deep_nesting_is_refused_without_recursion(depth, kind):
    if kind == "flow-list":
        text = "a: " + "[" * depth + "]" * depth
    elif kind == "flow-map":
        text = "a: " + "{b: " * depth + "1" + "}" * depth
    else:
        depth = min(depth, 300)  # block nesting costs two characters of indent per level (300 fit the size cap)
        text = "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "x"
    errors = load_within_bounds(text)
    assert len(errors) == 1 and "nested deeper than 10 levels" in errors[0]
    assert errors[0].split(":")[0].startswith("a" if kind != "block" else "k0.k1.k2")  # named by its path


@CASES
@given(digits=st.integers(101, 20_000),
       form=st.sampled_from(["{}", "-{}", "+{}", "0x{}", "0{}", "{}.5", "1:{}", "!!int '{}'", "!!float '{}'"]),
       path=st.sampled_from(FIELD_PATHS))
def test_numbers_past_the_digit_limit_are_refused(digits, form, path):
    number = form.format("7" * digits) if form != "1:{}" else "1" + ":00" * max(34, digits // 3)
    errors = load_within_bounds(nested(path, number))
    assert errors == [e for e in errors if e.startswith(f"{path}: a number written with")] and errors, errors


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1e999", "'-Infinity'", "'nan'"])
@pytest.mark.parametrize("path", FLOAT_FIELDS)
def test_non_finite_floats_are_refused_for_every_float_field(path, value):
    errors = load_within_bounds("dataset:\n  train_dataset_id: d\n" + nested(path, value).replace("dataset:\n", ""))
    assert any(e.startswith(f"{path}: Input should be a finite number") for e in errors), errors


@CASES
@given(field=st.sampled_from(["tokenizer.tokenizer_kwargs", "architecture.backbone_kwargs"]),
       depth=st.integers(11, 100_000), kind=st.sampled_from(["object", "array", "bigint"]))
def test_deep_or_huge_json_in_kwargs_is_an_inline_error(field, depth, kind):
    if kind == "object":
        text = '{"a": ' * depth + "1" + "}" * depth
    elif kind == "array":
        text = '{"a": ' + "[" * depth + "]" * depth + "}"
    else:
        text = '{"a": ' + "9" * (4_301 + depth % 5_000) + "}"
    errors = load_within_bounds(nested(field, json.dumps(text)))
    assert any(e.startswith(f"{field}:") for e in errors) or any(e.startswith("YAML:") for e in errors), errors


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=120))
structures = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=20), inner, max_size=6)), max_leaves=20)


@CASES
@given(document=st.dictionaries(st.sampled_from(FIELD_PATHS + ["dataset", "training", "unknown"]), structures,
                                max_size=8))
def test_random_structures_give_a_config_or_field_errors(document):
    data: dict = {}
    for path, value in document.items():
        section, _, leaf = path.partition(".")
        if leaf:
            data.setdefault(section, {}) if isinstance(data.get(section), dict) else data.__setitem__(section, {})
            data[section][leaf] = value
        else:
            data[section] = value
    errors = load_within_bounds(yaml.safe_dump(data, allow_unicode=True))
    for message in errors:
        head = message.split(":")[0]
        assert head == "YAML" or head.split(".")[0] in {*ExperimentConfig.model_fields, "unknown"} or "…" in head, message


@CASES
@given(text=st.text(max_size=2_000))
def test_arbitrary_text_is_parsed_or_refused(text):
    load_within_bounds(text)


@CASES
@given(size=st.integers(1_000, 99_000), where=st.sampled_from(["key", "value", "list"]))
def test_long_keys_and_values_give_short_messages(size, where):
    if where == "key":
        text = f"training:\n  {'k' * size}: 1\n"
    elif where == "value":
        text = f"training:\n  optimizer: {'x' * size}\n"
    else:
        text = "prediction:\n  metrics: [" + ", ".join(["m" * 50] * (size // 52)) + "]\n"
    assert load_within_bounds(text)


def test_three_mistakes_are_all_listed_with_their_paths():
    errors = load_within_bounds("dataset:\n  train_dataset_id: d\ntraining:\n  learnig_rate: 0.1\n  batch_size: abc\n"
                                "architecture:\n  training_mode: fulll\n")
    assert [e.split(":")[0] for e in errors] == [
        "training.learnig_rate", "architecture.training_mode", "training.batch_size"]


def test_odd_keys_are_names_not_booleans_or_numbers():
    errors = load_within_bounds("on: 1\n1: 2\nnull: 3\n")
    assert errors[:3] == ["on: unknown key", "1: unknown key", "null: unknown key"]


@pytest.mark.parametrize("text", ["---\na: 1\n---\nb: 2\n", "? [a]\n: 1\n", "!!python/object:os.system {}\n"])
def test_streams_complex_keys_and_python_tags_are_refused(text):
    errors = load_within_bounds(text)
    assert len(errors) == 1 and errors[0].startswith("YAML:")
