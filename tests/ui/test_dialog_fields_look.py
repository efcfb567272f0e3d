"""Where the New Experiment dialog puts fields: judge settings right after Metrics (with a warning
when no judge endpoint is configured), a System column field for Causal LM, an unabridged type."""
from __future__ import annotations

import gradio as gr
import pytest

from studio.config.problem_types import CAUSAL_LM, IMAGE_CLASSIFICATION, LABELS
from studio.services.context import AppContext
from studio.services.judge_endpoint import JUDGE_URL_SETTING, NO_JUDGE_WARNING, judge_configured
from studio.store.database import forget_database
from studio.ui import config_form as form
from studio.ui import new_experiment

PATHS = [f.path for f in form.dialog_fields()]
JUDGE = "prediction:\n  metrics: [Perplexity, LLM-as-a-Judge]\n"


@pytest.fixture()
def dialog(studio_home, monkeypatch):
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ctx = AppContext.open(studio_home, start_runner=False)
    with gr.Blocks():
        built = new_experiment.build(ctx)
    built["ctx"] = ctx
    yield built
    forget_database(studio_home / "db.json")


def _field_update(dialog, yaml_text: str, path: str) -> dict:
    outputs = dialog["open_values"](yaml_text)
    return dict(zip(PATHS, outputs[2:2 + len(PATHS)]))[path]


def test_judge_fields_come_right_after_the_metrics_field_that_shows_them():
    metrics = PATHS.index("prediction.metrics")
    assert PATHS[metrics + 1:metrics + 3] == ["training.llm_judge_model", "training.llm_judge_prompt_template"]


def test_the_judge_model_warns_when_no_judge_endpoint_is_configured(dialog):
    update = _field_update(dialog, JUDGE, "training.llm_judge_model")
    assert update["visible"] and NO_JUDGE_WARNING in update["info"]
    dialog["ctx"].store.settings.set(JUDGE_URL_SETTING, "http://127.0.0.1:8000/v1")
    assert judge_configured(dialog["ctx"].store)
    assert NO_JUDGE_WARNING not in _field_update(dialog, JUDGE, "training.llm_judge_model")["info"]


def test_causal_lm_has_a_system_column_field_that_can_be_left_empty(dialog):
    shown = {f.path for f in form.dialog_fields() if form.visible(f, {"problem_type": CAUSAL_LM})}
    assert "dataset.system_column" in shown
    hidden = {f.path for f in form.dialog_fields() if form.visible(f, {"problem_type": IMAGE_CLASSIFICATION})}
    assert "dataset.system_column" not in hidden
    update = _field_update(dialog, "", "dataset.system_column")
    assert (form.NULL_CHOICE, "") in update["choices"]
    field = form.field_by_path("dataset.system_column")
    assert form.from_widget(field, "") is None and form.from_widget(field, "sys") == "sys"


def test_problem_type_choices_are_their_short_labels_and_the_info_names_the_yaml_value(dialog):
    component = dialog["fields"]["problem_type"]
    labels = [label for label, _ in component.choices]
    assert labels[0] == LABELS[CAUSAL_LM] and all(len(label) <= 32 for label in labels)
    assert "YAML: text_causal_language_modeling" in _field_update(dialog, "", "problem_type")["info"]
