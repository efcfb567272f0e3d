"""The New Experiment dialog's handlers with wrong input: every wrong value listed by field path,
its field marked, the form keeping what it had, and no handler raising (issue 11 defects 1-3, 14).

The dialog is built in a real gr.Blocks on a real store; the handlers are called as Gradio calls
them, and their updates are also passed through each component's postprocess, as Gradio would
before sending them to the browser (where `type str doesn't define __round__` came from).
"""
from __future__ import annotations

import gradio as gr
import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from studio.services.context import AppContext
from studio.store.database import forget_database
from studio.ui import config_form as form
from studio.ui import new_experiment
from studio.ui.new_experiment import INVALID_CLASS

FIELDS = form.dialog_fields()
PATHS = [f.path for f in FIELDS]
THREE_MISTAKES = "training:\n  learnig_rate: 0.1\n  batch_size: abc\narchitecture:\n  training_mode: fulll\n"


@pytest.fixture()
def dialog(studio_home, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ctx = AppContext.open(studio_home, start_runner=False)
    ctx.dataset = ctx.store.datasets.add({"name": "demo", "rows": 3, "project_id": ctx.current_project()["id"]})
    with gr.Blocks():
        built = new_experiment.build(ctx)
    built["ctx"] = ctx
    yield built
    forget_database(studio_home / "db.json")


def field_updates(dialog, outputs: list) -> dict[str, dict]:
    """The update each field got, after the component's own postprocess (which must not raise)."""
    updates = dict(zip(PATHS, outputs[:len(PATHS)]))
    for path, update in updates.items():
        if not (isinstance(update, dict) and "value" in update):
            continue
        component = dialog["fields"][path]
        if isinstance(component, gr.Dropdown) and not component.allow_custom_value:
            # A value outside the choices makes Gradio refuse the next event with a toast.
            choices = update.get("choices", component.choices)
            offered = [c[1] if isinstance(c, (tuple, list)) else c for c in choices]
            value = update["value"]
            assert all(v in offered for v in (value if isinstance(value, list) else [value] if value else [])), \
                (path, value)
        else:
            component.postprocess(update["value"])
    return updates


def listed(errors_html: str) -> list[str]:
    return [item.split("</code>")[0] for item in errors_html.split("<li><code>")[1:]]


def widget_values(dialog, yaml_text: str) -> list:
    """What the fields show after ``on_yaml(yaml_text)`` on a fresh dialog (values it did not send stay default)."""
    shown = [form.to_widget(f, f.default) for f in FIELDS]
    for i, update in enumerate(dialog["handlers"]["yaml"](yaml_text)[:len(PATHS)]):
        if isinstance(update, dict) and "value" in update:
            shown[i] = update["value"]
    return shown


def test_three_mistakes_are_all_listed_marked_and_the_dataset_stays(dialog):
    dataset_id = dialog["ctx"].dataset["id"]
    text = f"dataset:\n  train_dataset_id: {dataset_id}\n" + THREE_MISTAKES
    *fields, errors_html, start = dialog["handlers"]["yaml"](text)
    updates = field_updates(dialog, fields)
    assert {"training.learnig_rate", "training.batch_size", "architecture.training_mode"} <= set(listed(errors_html))
    assert "choose a train dataset" not in errors_html
    assert start["interactive"] is False
    assert updates["dataset.train_dataset_id"]["value"] == dataset_id
    # The wrong values cannot go into their widgets: the fields keep what they had, marked.
    for path in ("training.batch_size", "architecture.training_mode"):
        assert "value" not in updates[path] and updates[path]["elem_classes"] == [INVALID_CLASS]
        assert updates[path]["info"].startswith("⚠ ")
    assert updates["training.epochs"]["elem_classes"] == []


def test_editing_another_field_keeps_the_wrong_yaml_value_listed(dialog):
    dataset_id = dialog["ctx"].dataset["id"]
    text = f"dataset:\n  train_dataset_id: {dataset_id}\ntraining:\n  batch_size: abc\n"
    values = widget_values(dialog, text)
    values[PATHS.index("training.epochs")] = 3
    outputs = dialog["handlers"]["field"]("training.epochs")(*values, text)
    new_yaml, errors_html = outputs[len(PATHS) + 1], outputs[len(PATHS) + 2]
    assert yaml.safe_load(new_yaml)["training"] == {"batch_size": "abc", "epochs": 3}
    assert "training.batch_size" in listed(errors_html)
    # Fixing it in its own field replaces the wrong value.
    values[PATHS.index("training.batch_size")] = 4
    outputs = dialog["handlers"]["field"]("training.batch_size")(*values, new_yaml)
    assert yaml.safe_load(outputs[len(PATHS) + 1])["training"] == {"batch_size": 4, "epochs": 3}
    assert "training.batch_size" not in listed(outputs[len(PATHS) + 2])


def test_a_fractional_batch_size_is_refused_by_name_not_rounded(dialog):
    values = [form.to_widget(f, f.default) for f in FIELDS]
    values[PATHS.index("training.batch_size")] = 2.5
    outputs = dialog["handlers"]["field"]("training.batch_size")(*values, "")
    new_yaml, errors_html = outputs[len(PATHS) + 1], outputs[len(PATHS) + 2]
    assert yaml.safe_load(new_yaml)["training"]["batch_size"] == 2.5  # the YAML says what the field shows
    assert "<li><code>training.batch_size</code>: must be a whole number (got 2.5)" in errors_html
    assert field_updates(dialog, outputs)["training.batch_size"]["elem_classes"] == [INVALID_CLASS]
    # Gradio hands a Number its value unrounded (no precision=0 on integer fields).
    assert dialog["fields"]["training.batch_size"].preprocess(2.5) == 2.5


def test_reset_restores_every_default_including_the_dataset(dialog):
    outputs = dialog["handlers"]["reset"]()
    updates = field_updates(dialog, outputs)
    assert outputs[len(PATHS) + 1] == ""
    assert updates["dataset.train_dataset_id"]["value"] is None
    assert updates["training.batch_size"]["value"] == 1


def test_start_with_a_wrong_yaml_value_lists_it_and_creates_nothing(dialog):
    dataset_id = dialog["ctx"].dataset["id"]
    text = f"dataset:\n  train_dataset_id: {dataset_id}\n" + THREE_MISTAKES
    values = widget_values(dialog, text)
    modal, errors_html, start, target = dialog["handlers"]["start"](*values, text, None, None)
    assert "training.batch_size" in listed(errors_html) and target == ""
    assert dialog["ctx"].store.experiments.list() == []


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(), st.text(max_size=30)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(st.sampled_from(PATHS + ["training", "dataset"]), yaml_values, min_size=1, max_size=4),
       edited=st.sampled_from(PATHS))
def test_no_handler_raises_whatever_the_yaml_holds(dialog, values, edited):
    data: dict = {}
    for path, value in values.items():
        section, _, leaf = path.partition(".")
        if leaf and isinstance(data.setdefault(section, {}), dict):
            data[section][leaf] = value
        elif not leaf:
            data[section] = value
    text = yaml.safe_dump(data, allow_unicode=True)
    shown = widget_values(dialog, text)  # on_yaml, its updates postprocessed
    outputs = dialog["handlers"]["field"](edited)(*shown, text)
    field_updates(dialog, outputs)
    dialog["handlers"]["start"](*shown, text, None, None)
