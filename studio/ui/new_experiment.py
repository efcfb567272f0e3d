"""The New Experiment dialog: schema-generated fields over an Advanced YAML editor, in sync both ways.

The YAML editor holds the overrides (keys that differ from the defaults). A field edit
rewrites the YAML; a YAML edit refills the fields. Every change is validated and the
field-path errors are listed in the dialog; Start Training stays disabled until none remain.
"""
from __future__ import annotations

import html
import gradio as gr

from studio.config import ConfigError
from studio.config.study import settings_from_form
from studio.config.problem_types import DEFAULT_METRICS, LABELS, NOT_DEPLOYABLE_REASON, OBJECT_DETECTION
from studio.services.judge_endpoint import NO_JUDGE_WARNING, judge_configured
from studio.services.model_availability import backbone_error, check_model, first_loadable
from studio.services.model_registry import choices_for
from studio.ui import config_form as form
from studio.ui import session, stale_errors
from studio.ui.session import with_session
from studio.ui.stale_errors import text_stamp
from studio.ui.class_count import num_classes_hint
from studio.ui.dataset_columns import dataset_columns
from studio.ui import study_form
from studio.ui.navigation import NAVIGATE_JS, experiment_url, study_url

SECTION_TITLES = {
    "experiment": "Experiment details",
    "dataset": "Dataset selection",
    "tokenizer": "Dataset selection",
    "architecture": "Training configuration",
    "training": "Training configuration",
    "prediction": "Training configuration",
    "environment": "Training configuration",
}
NUM_CLASSES_FIELD = "dataset.num_classes"
JUDGE_MODEL_FIELD = "training.llm_judge_model"
# Shown under the errors while the chosen problem type has caveats.
TYPE_NOTES = {
    OBJECT_DETECTION: "⚠ **Object detection is experimental.** " + NOT_DEPLOYABLE_REASON[OBJECT_DETECTION],
}


START, START_STUDY = "Start Training", "Start AutoML study"
INVALID_CLASS = "field-invalid"  # assets/css/studio.css draws it
UNSYNCED = ("The form and the Advanced YAML do not agree yet (an edit is still being applied): "
            "check the settings, then press Start Training again.")


def build(ctx) -> dict:
    fields = form.dialog_fields()
    field_output_default = form.field_by_path("dataset.output_column").default
    components: dict[str, gr.components.Component] = {}
    with gr.Column(visible=False, elem_classes=["studio-modal"], elem_id="new-experiment-dialog") as modal:
        with gr.Column(elem_classes=["studio-modal-body"]):
            with gr.Row(equal_height=True):
                title = gr.Markdown("## New Experiment")
                reset = gr.Button("Reset Settings", variant="secondary", size="sm", scale=0, min_width=140)
                automl = gr.Checkbox(label="AutoML", value=False, scale=0, min_width=110, elem_id="automl-switch",
                                     info="a study of trials")
                start = gr.Button(START, variant="primary", size="sm", scale=0, min_width=140,
                                  elem_id="start-training")
                close = gr.Button("Close", size="sm", scale=0, min_width=90)
            errors = gr.HTML(elem_id="config-errors")
            with gr.Column(visible=False, elem_id="automl-study-settings") as study_box:
                gr.Markdown("### AutoML study\nStart runs a study: optuna (TPE) proposes each trial from these "
                            "settings and the search space below; trials behind the others are pruned early.")
                study = study_form.build()
            type_note = gr.Markdown(visible=False, elem_id="problem-type-note", elem_classes=["type-note"])
            section = None
            row = None
            for field in fields:
                if SECTION_TITLES[field.section] != section:
                    section = SECTION_TITLES[field.section]
                    gr.Markdown(f"### {section}", elem_classes=["section-title"])
                    row = gr.Row(equal_height=False)
                with row:
                    components[field.path] = _component(field)
            yaml_editor = gr.Code(language="yaml", label="Advanced Configuration (YAML: only the keys you "
                                  "override)", lines=8, interactive=True, elem_id="advanced-yaml")
    source = gr.State(None)
    connection = gr.State(None)
    target = gr.Textbox(visible=False)

    field_components = [components[f.path] for f in fields]
    form_outputs = field_components + [type_note]  # what render() updates

    def project_id() -> str:
        return session.current_project(ctx)["id"]

    def render(data: dict, with_values: bool, errors_list: list[str] = ()) -> list:
        """Updates for ``form_outputs``: every field's visibility, choices, hints (and values).

        A field named in ``errors_list`` is marked (red border, the message under its label); a
        value its widget cannot hold (``batch_size: abc``) is not sent, so the field keeps what it had.
        """
        updates = []
        raw_data, data = data, form.displayable_settings(data)
        problem_type = form.get_value(data, form.PROBLEM_TYPE_FIELD, form.field_by_path("problem_type").default)
        wrong = form.errors_by_field(list(errors_list))
        datasets = None
        for field in fields:
            raw = form.get_value(raw_data, field.path, field.default)
            update: dict = {"visible": form.visible(field, data)}
            info = _info(field)
            allowed = form.choice_values(field)
            if field.path == form.PROBLEM_TYPE_FIELD:
                info += f" YAML: {problem_type}"
            elif field.path == form.METRICS_FIELD:
                allowed = update["choices"] = form.metric_choices(data)
                defaults = ", ".join(DEFAULT_METRICS.get(problem_type, []))
                info += f" Empty = {defaults}." if defaults else ""
            elif field.path == form.LOSS_FIELD:
                allowed = update["choices"] = form.loss_choices(data)
                info += f" (none) = {allowed[1]}." if len(allowed) > 1 else ""
            elif field.path == NUM_CLASSES_FIELD and update["visible"]:
                hint = num_classes_hint(ctx.home, form.get_value(data, "dataset.train_dataset_id"),
                                        form.get_value(data, "dataset.output_column", field_output_default),
                                        problem_type)
                update["placeholder"] = hint or "auto: detected from the data"
                info += f" {hint[0].upper()}{hint[1:]}." if hint else ""
            elif field.path == form.BACKBONE_FIELD:
                update["choices"] = choices_for(ctx.models(), problem_type)
            elif field.path in form.DATASET_FIELDS:
                if datasets is None:
                    datasets = [(d["name"], d["id"]) for d in ctx.store.datasets.list(project_id())]
                update["choices"] = datasets
                allowed = [dataset_id for _, dataset_id in datasets]
            elif field.path in form.COLUMN_FIELDS:
                update["choices"] = dataset_columns(ctx.store, form.get_value(data, "dataset.train_dataset_id"))
                if field.path in form.OPTIONAL_COLUMN_FIELDS:
                    update["choices"] = [(form.NULL_CHOICE, "")] + list(update["choices"])
            elif field.path == JUDGE_MODEL_FIELD and update["visible"] and not judge_configured(ctx.store):
                info = f"⚠ {NO_JUDGE_WARNING} {info}"
            if (with_values or field.path in (form.METRICS_FIELD, form.LOSS_FIELD)) and \
                    form.showable(field, raw, allowed):
                update["value"] = form.to_widget(field, raw)
            if field.path in wrong:
                info = f"⚠ {wrong[field.path]}. {info}"
            update["info"] = info
            update["elem_classes"] = [INVALID_CLASS] if field.path in wrong else []
            updates.append(gr.update(**update))
        note = TYPE_NOTES.get(problem_type)
        updates.append(gr.update(visible=bool(note), value=note or ""))
        return updates

    def schema_errors(data: dict) -> list[str]:
        try:
            ctx.experiments.validate(data)
        except ConfigError as exc:
            return exc.errors
        return []

    def fit_backbone(data: dict) -> dict:
        models = ctx.models()
        problem_type = form.get_value(form.displayable_settings(data), form.PROBLEM_TYPE_FIELD,
                                      form.field_by_path("problem_type").default)
        return form.fit_backbone(data, choices_for(models, problem_type), {m.id for m in models})

    def prefer_loadable(data: dict) -> dict:
        """On open, a registered model this machine cannot load gives way to one it can (offline)."""
        models = ctx.models()
        current = form.get_value(data, form.BACKBONE_FIELD, form.field_by_path(form.BACKBONE_FIELD).default)
        if not isinstance(current, str) or current not in {m.id for m in models} or check_model(current).loadable:
            return data
        problem_type = form.get_value(form.displayable_settings(data), form.PROBLEM_TYPE_FIELD,
                                      form.field_by_path("problem_type").default)
        usable = first_loadable(choices_for(models, problem_type))
        return form.set_value(data, form.BACKBONE_FIELD, usable, form.field_by_path(form.BACKBONE_FIELD).default) \
            if usable else data

    def check(data: dict) -> list[str]:
        try:
            config = ctx.experiments.validate(data)
        except ConfigError as exc:
            return exc.errors
        problem = backbone_error(config.llm_backbone, config.environment.huggingface_branch)
        return [problem] if problem else []

    def status(errors_list: list[str], data: dict | None = None, for_text: str | None = None) -> list:
        """The error list and Start's state; ``for_text``: the YAML text they describe (see stale_errors)."""
        note = None
        if data is not None and not any(e.startswith(form.BACKBONE_FIELD + ":") for e in errors_list):
            model = form.get_value(data, form.BACKBONE_FIELD, form.field_by_path(form.BACKBONE_FIELD).default)
            branch = form.get_value(data, "environment.huggingface_branch")
            if isinstance(model, str) and (branch is None or isinstance(branch, str)):
                note = "Model: " + check_model(model, branch).message
        stamp = text_stamp(for_text) if for_text is not None else None
        return [errors_html(errors_list, note, stamp), gr.update(interactive=not errors_list)]

    def on_fields(edited: str, values: list, yaml_text: str) -> list:
        try:
            previous = form.parse_yaml(yaml_text)
        except ConfigError as exc:
            return [gr.skip()] * len(form_outputs) + [gr.skip()] + status(exc.errors)
        # A wrong value typed in the YAML stays there (listed, its field marked) until its own field
        # is edited: writing the other fields' widget values must not silently replace it.
        keep = set(form.errors_by_field(schema_errors(previous))) - {edited}
        data = form.drop_foreign_choices(form.apply_form(previous, list(values), keep))
        dataset_id = form.get_value(data, "dataset.train_dataset_id")
        chosen = dataset_id and dataset_id != form.get_value(previous, "dataset.train_dataset_id")
        if chosen:  # a dataset was just picked: its profile's guesses fill the columns (and problem type)
            data = form.drop_foreign_choices(form.apply_suggestions(
                data, ctx.experiments.dataset_suggestions(dataset_id), dataset_columns(ctx.store, dataset_id)))
        fitted = fit_backbone(data)
        text = form.dump_overrides(fitted)
        # Unchanged YAML is not sent back, so a late event cannot overwrite what the user types there.
        same = previous == fitted
        # Values go back to the fields only when the dialog itself changed some (guesses, model).
        refill = bool(chosen) or fitted != data
        errs = check(fitted)
        return render(fitted, refill, errs) + [gr.skip() if same else text] + \
            status(errs, fitted, yaml_text if same else text)

    def field_handler(path: str):
        def handler(*values):
            *values, yaml_text = values
            return on_fields(path, values, yaml_text)
        return handler

    def on_yaml(yaml_text):
        try:
            data = form.parse_yaml(yaml_text)
        except ConfigError as exc:
            return [gr.skip()] * len(form_outputs) + status(exc.errors, for_text=yaml_text)
        errs = check(data)
        return render(data, True, errs) + status(errs, data, yaml_text)

    def open_values(yaml_text: str = "", source_id: str | None = None, link: str | None = None,
                    heading: str = "## New Experiment") -> list:
        """Outputs of ``open_outputs`` that show the dialog filled from ``yaml_text``."""
        try:
            data = prefer_loadable(fit_backbone(form.parse_yaml(yaml_text)))
            errs, shown_yaml = check(data), form.dump_overrides(data)
        except ConfigError as exc:
            data, errs, shown_yaml = {}, exc.errors, yaml_text
        shown_errors, start_state = status(errs, data)
        # Each opening starts as a plain experiment: the AutoML switch is off again.
        return [gr.update(visible=True), heading] + render(data, True, errs) + \
            [shown_yaml, shown_errors, {**start_state, "value": START}, source_id, link, False,
             gr.update(visible=False)]

    def on_reset():
        # The spec: "restores all fields to their defaults", the chosen dataset included.
        data = prefer_loadable({})
        errs = check(data)
        return render(data, True, errs) + [form.dump_overrides(data)] + status(errs, data)

    def ready_settings(values: list) -> tuple[dict | None, list[str]]:
        """The dialog's settings and what stops them from starting (an unsynced edit, a rule, the model)."""
        *values, yaml_text = values
        typed = form.parse_yaml(yaml_text)
        data = form.apply_form(typed, list(values), set(form.errors_by_field(schema_errors(typed))))
        if not form.same_settings(typed, data):
            # An edit is still travelling between the form and the YAML editor: starting now
            # could run settings the user does not see. The pending sync re-enables Start.
            return None, [UNSYNCED]
        # The settings first, then whether the model can be loaded here (an offline machine and a
        # Hub model: the run would fail after its start-up).
        return data, check(data)

    def on_start(*values):
        *values, source_id, link = values
        try:
            data, problems = ready_settings(values)
            if problems:
                return [gr.skip()] + status(problems) + [""]
            row = ctx.experiments.create(data, project_id(), source_id=source_id, connection=link,
                                         actor=session.actor(ctx))
        except ConfigError as exc:
            return [gr.skip()] + status(exc.errors) + [""]
        except Exception as exc:  # the runner refused: show why, keep the dialog open
            return [gr.skip()] + status([f"could not start: {exc}"]) + [""]
        return [gr.update(visible=False)] + status([]) + [experiment_url(row["id"])]

    def on_start_study(*values):
        """With the AutoML switch on, Start creates a study over these settings (its trials are the runs)."""
        count = len(study["components"])
        values, study_values = list(values[:-count]), list(values[-count:])
        *values, _source_id, _link = values
        try:
            data, problems = ready_settings(values)
            if problems:
                return [gr.skip()] + status(problems) + [""]
            settings = settings_from_form(study_form.values_by_path(study["paths"], study_values))
            created = ctx.studies.create(data, settings, project_id=project_id(), actor=session.actor(ctx))
        except ConfigError as exc:
            return [gr.skip()] + status(exc.errors) + [""]
        except Exception as exc:  # the store refused: show why, keep the dialog open
            return [gr.skip()] + status([f"could not create the study: {exc}"]) + [""]
        return [gr.update(visible=False)] + status([]) + [study_url(created["id"])]

    def on_any_start(use_automl, *values):
        return on_start_study(*values) if use_automl else on_start(*values[:-len(study["components"])])

    for field in fields:
        components[field.path].input(field_handler(field.path), field_components + [yaml_editor],
                                     form_outputs + [yaml_editor, errors, start], show_progress="hidden",
                                     trigger_mode="always_last").then(None, None, None, js=stale_errors.SHOW_JS)
    # always_last: an edit made while the previous one is processed must not be dropped.
    yaml_editor.input(None, None, None, js=stale_errors.HIDE_JS)
    yaml_editor.input(on_yaml, [yaml_editor], form_outputs + [errors, start], show_progress="hidden",
                      trigger_mode="always_last").then(None, [yaml_editor], None,
                                                       js=stale_errors.SHOW_IF_CURRENT_JS)
    reset.click(on_reset, None, form_outputs + [yaml_editor, errors, start])
    start.click(with_session(on_any_start), [automl] + field_components + [yaml_editor, source, connection] + study["components"],
                [modal, errors, start, target]).then(None, [target], None, js=NAVIGATE_JS)
    automl.input(lambda on: (gr.update(visible=on), gr.update(value=START_STUDY if on else START)), [automl],
                 [study_box, start])
    close.click(lambda: gr.update(visible=False), None, [modal])

    return {
        "modal": modal, "title": title, "errors": errors, "start": start, "reset": reset, "close": close,
        "yaml": yaml_editor, "source": source, "connection": connection, "fields": components,
        "type_note": type_note,
        "open_outputs": [modal, title] + form_outputs + [yaml_editor, errors, start, source, connection, automl,
                                                         study_box],
        "open_values": open_values,
        # The handlers themselves, for tests that drive the dialog without a browser.
        "handlers": {"field": field_handler, "yaml": on_yaml, "reset": on_reset, "start": on_start},
    }


def errors_html(errors: list[str], note: str | None = None, stamp: str | None = None) -> str:
    """The dialog's verdict; ``stamp``: text_stamp of the YAML it describes (hidden while stale)."""
    body = _verdict_html(errors, note)
    return f"<div data-yaml-stamp='{stamp}'>{body}</div>" if stamp else body


def _verdict_html(errors: list[str], note: str | None) -> str:
    detail = f"<div class='studio-muted' id='model-availability'>{html.escape(note)}</div>" if note else ""
    if not errors:
        return f"<div class='config-ok'>✓ The configuration is valid.{detail}</div>"
    items = []
    for error in errors:
        path, sep, message = error.partition(": ")
        items.append(f"<li><code>{html.escape(path)}</code>: {html.escape(message)}</li>" if sep
                     else f"<li>{html.escape(error)}</li>")
    return ("<div class='config-errors'><b>Fix these settings to start training:</b><ul>"
            + "".join(items) + "</ul></div>" + detail)


def _info(field: form.FormField) -> str:
    return field.description + (f" ({field.bounds})" if field.bounds else "")


def _component(field: form.FormField):
    common = {"label": field.label, "info": _info(field), "elem_id": "field-" + field.path.replace(".", "-"),
              "min_width": 280}
    value = form.to_widget(field, field.default)
    if field.kind == "checkbox":
        return gr.Checkbox(value=value, **common)
    if field.kind in ("number", "integer"):
        # No precision=0 for integers: Gradio would round 2.5 to 2 behind the user's back (the box
        # still showing 2.5); the schema refuses 2.5 by name instead.
        return gr.Number(value=value, **common)
    if field.kind == "longtext":
        return gr.Textbox(value=value, lines=6, max_lines=20, **common)
    if field.kind == "text":
        return gr.Textbox(value=value, **common)
    if field.kind == "columns":
        return gr.Dropdown(choices=[], value=value, allow_custom_value=True,
                           multiselect=field.path == form.MULTI_COLUMN_FIELD, **common)
    if field.kind == "multichoice":
        return gr.Dropdown(choices=list(field.choices or []), value=value, multiselect=True, **common)
    # choice
    if field.path == form.PROBLEM_TYPE_FIELD:
        # The label alone fits the field; the YAML value it stands for is in the info line.
        choices = [(LABELS.get(c, c), c) for c in field.choices]
    elif field.choices:
        choices = [(form.NULL_CHOICE if c is None else str(c), form.NULL_CHOICE if c is None else c)
                   for c in field.choices]
    else:
        choices = []
    return gr.Dropdown(choices=choices, value=value, allow_custom_value=field.path == form.BACKBONE_FIELD,
                       **common)

