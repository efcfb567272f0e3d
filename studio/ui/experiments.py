"""Experiments page: the live list (search, sort, columns, pages, edit mode) and the New Experiment dialog."""
from __future__ import annotations

import gradio as gr

import html

from studio.config.problem_types import LABELS
from studio.datasets import DatasetError
from studio.services.access_policy import AccessDenied
from studio.services.compare import MAX_RUNS, MIN_RUNS
from studio.services.experiment_list import ALL, SORTS, STATUS_FILTERS
from studio.ui import new_experiment, session
from studio.ui.experiment_table import COLUMNS, SELECT_COLUMN, table_page
from studio.ui.navigation import NAVIGATE_JS, compare_url, experiment_url
from studio.ui.newest_draw import NewestDraw

REFRESH_S = 2.0


def build(ctx, view) -> dict:
    gr.Markdown("# Experiments")
    with gr.Row(equal_height=True, elem_classes=["toolbar"]):
        search = gr.Textbox(label="Search", placeholder="name, dataset or experiment ID", scale=3,
                            elem_id="experiment-search")
        sort = gr.Dropdown(label="Sort by", choices=list(SORTS), value="Newest first", scale=1,
                           min_width=200, elem_id="experiment-sort")
        status_filter = gr.Dropdown(label="Status", choices=STATUS_FILTERS, value=ALL, scale=1, min_width=160,
                                    elem_id="experiment-status-filter")
        type_filter = gr.Dropdown(label="Problem type", choices=[(ALL, ALL)] + [(v, k) for k, v in LABELS.items()],
                                  value=ALL, scale=1, min_width=200, elem_id="experiment-type-filter")
        new_button = gr.Button("New Experiment", variant="primary", scale=0, min_width=150, elem_id="new-experiment")
        edit_button = gr.Button("Edit", scale=0, min_width=90, elem_id="edit-experiments")
        columns_button = gr.Button("Columns ▾", scale=0, min_width=110, elem_id="column-toggle")
    with gr.Row(visible=False) as columns_row:
        columns = gr.CheckboxGroup(choices=COLUMNS, value=COLUMNS, label="Shown columns", elem_id="column-choices")
    with gr.Row(visible=False, equal_height=True, elem_classes=["edit-bar"]) as edit_bar:
        gr.Markdown("Tick the experiments to compare (2–8) or delete.", elem_classes=["edit-hint"])
        compare_button = gr.Button("Compare selected", scale=0, min_width=160, elem_id="compare-selected")
        delete_button = gr.Button("Delete selected", variant="stop", scale=0, min_width=160, elem_id="delete-selected")
        done_button = gr.Button("Done", scale=0, min_width=90, elem_id="edit-done")
    with gr.Row(visible=False, elem_id="experiments-empty", elem_classes=["empty-state"]) as empty:
        empty_text = gr.Markdown()
        demo_button = gr.Button("Import the demo dataset and start", variant="primary", scale=0, min_width=260,
                                elem_id="experiments-demo")
    table = gr.Dataframe(interactive=False, wrap=True, max_height=720, elem_id="experiments-table",
                         elem_classes=["experiments-table"], show_label=False)
    with gr.Row(equal_height=True):
        previous = gr.Button("◀ Previous", size="sm", scale=0, min_width=110, elem_id="experiments-previous")
        page_label = gr.Markdown(elem_id="page-label")
        following = gr.Button("Next ▶", size="sm", scale=0, min_width=110, elem_id="experiments-next")
    with gr.Column(visible=False, elem_classes=["studio-modal", "small"], elem_id="confirm-delete") as confirm:
        with gr.Column(elem_classes=["studio-modal-body"]):
            confirm_text = gr.Markdown()
            with gr.Row():
                confirm_yes = gr.Button("Delete", variant="stop", elem_id="confirm-delete-yes")
                confirm_no = gr.Button("Cancel")
    dialog = new_experiment.build(ctx)

    page = gr.State(1)
    ids = gr.State([])
    editing = gr.State(False)
    seen = gr.State(-1)
    active = gr.State(False)
    pending = gr.State([])
    target = gr.Textbox(visible=False)
    timer = gr.Timer(REFRESH_S, active=False)

    redraws = NewestDraw()

    def draw(query, sort_name, status, problem_type, shown, page_number, edit):
        ticket = redraws.take()
        version = ctx.changes.version
        project_id = session.current_project(ctx)["id"]
        matched = ctx.experiment_list.rows(project_id, query=query, sort=sort_name, status=status,
                                           problem_type=problem_type)
        result = table_page(matched, ctx.experiments, columns=shown, page=page_number, selectable=edit,
                            best_so_far=ctx.experiment_list.best_so_far)
        names = list(result.frame.columns)
        static = list(range(1, len(names))) if edit else None
        datatype = [("bool" if n == SELECT_COLUMN else "html" if n == "Status" else "str") for n in names]
        nothing = not matched and not (query or "").strip() and status == ALL and problem_type == ALL
        if not redraws.is_newest(ticket):
            return [gr.skip()] * len(list_outputs)
        return [gr.update(value=result.frame, interactive=edit, static_columns=static, datatype=datatype,
                          visible=not nothing),
                result.ids, result.page, result.label, version, result.any_active,
                gr.update(visible=nothing), _empty_text(ctx, project_id) if nothing else gr.skip()]

    list_inputs = [search, sort, status_filter, type_filter, columns, page, editing]
    list_outputs = [table, ids, page, page_label, seen, active, empty, empty_text]

    def tick(seen_version, was_active, *args):
        edit = args[-1]
        if edit or (seen_version == ctx.changes.version and not was_active):
            return [gr.skip()] * len(list_outputs)  # nothing changed: no store read, no redraw
        return draw(*args)

    def first_page(*args):
        return draw(*args[:5], 1, args[6])

    def turn(delta):
        def go(*args):
            return draw(*args[:5], args[5] + delta, args[6])
        return go

    def set_editing(edit):
        return edit, gr.update(visible=edit), gr.update(visible=not edit)

    def on_select(evt: gr.SelectData, page_ids, edit):
        if edit or not evt.index or evt.index[0] >= len(page_ids):
            return ""
        return experiment_url(page_ids[evt.index[0]])

    def ask_delete(frame, page_ids):
        chosen = _ticked(frame, page_ids)
        if chosen is None:
            return gr.skip(), gr.skip(), []
        if not chosen:
            gr.Warning("Tick at least one experiment to delete.")
            return gr.skip(), gr.skip(), []
        running = [i for i in chosen if (ctx.store.experiments.get(i) or {}).get("status")
                   in ("Queued", "Starting", "Training", "Validation")]
        rows = [ctx.store.experiments.get(i) or {"id": i} for i in chosen]
        listed = "\n".join(f"- **{html.escape(r.get('name') or r['id'])}** `{r['id']}` · {r.get('status') or ''}"
                           for r in rows[:10])
        more = f"\n- … and {len(rows) - 10} more" if len(rows) > 10 else ""
        text = f"### Delete {len(chosen)} experiment{'s' * (len(chosen) != 1)}?\n\n{listed}{more}\n\n" \
               "Their run folders (logs, metrics, checkpoints) are removed for good."
        if running:
            text += f"\n\n{len(running)} of them {'is' if len(running) == 1 else 'are'} queued or running " \
                    "and will be stopped first."
        return gr.update(visible=True), text, chosen

    def ask_compare(frame, page_ids):
        chosen = _ticked(frame, page_ids) or []
        if not MIN_RUNS <= len(chosen) <= MAX_RUNS:
            gr.Warning(f"Tick {MIN_RUNS} to {MAX_RUNS} experiments to compare ({len(chosen)} ticked).")
            return ""
        return compare_url(chosen)

    def do_delete(request: gr.Request, chosen):
        try:
            count = ctx.experiments.delete(chosen, session.actor(ctx, request))
        except AccessDenied as exc:
            gr.Warning(str(exc))
            return gr.update(visible=False), []
        gr.Info(f"Deleted {count} experiment{'s' * (count != 1)}.")
        return gr.update(visible=False), []

    def on_load(params: dict):
        opened = [gr.skip()] * len(dialog["open_outputs"])
        if params.get("copy") and ctx.store.experiments.get(params["copy"]):
            source = ctx.store.experiments.get(params["copy"])
            opened = dialog["open_values"](ctx.experiments.copy_yaml(source["id"]), source["id"], "copy",
                                          f"## Copy of {source['name']}")
        elif params.get("new"):
            dataset_id = params.get("dataset")
            text = ctx.experiments.draft_for_dataset(dataset_id, params.get("model"), params.get("preset")) if dataset_id and \
                ctx.store.datasets.get(dataset_id) else ""
            opened = dialog["open_values"](text)
        return opened

    view.load(on_load, None, dialog["open_outputs"], params=True).then(draw, list_inputs, list_outputs)
    view.on_project_change(first_page, list_inputs, list_outputs)
    view.poll(timer, tick, [seen, active] + list_inputs, list_outputs,
              live=lambda _params: ctx.experiments.anything_live())
    # Progress shows on the table only (see studio/ui/view.py: why never on every output), and hidden: a
    # spinner over the table redrew it before each request, for a draw that takes a few milliseconds.
    on_table = {"show_progress_on": [table], "show_progress": "hidden"}
    search.input(first_page, list_inputs, list_outputs, trigger_mode="always_last", **on_table)
    # change, not input: Gradio's dropdown sends input twice on an option click (two draws for one choice);
    # nothing else sets these three.
    sort.change(first_page, list_inputs, list_outputs, **on_table)
    status_filter.change(first_page, list_inputs, list_outputs, **on_table)
    type_filter.change(first_page, list_inputs, list_outputs, **on_table)
    columns.input(draw, list_inputs, list_outputs, **on_table)
    previous.click(turn(-1), list_inputs, list_outputs, **on_table)
    following.click(turn(1), list_inputs, list_outputs, **on_table)
    edit_button.click(lambda: set_editing(True), None, [editing, edit_bar, edit_button]).then(
        draw, list_inputs, list_outputs, **on_table)
    done_button.click(lambda: set_editing(False), None, [editing, edit_bar, edit_button]).then(
        draw, list_inputs, list_outputs, **on_table)
    table.select(on_select, [ids, editing], [target]).then(None, [target], None, js=NAVIGATE_JS)
    delete_button.click(ask_delete, [table, ids], [confirm, confirm_text, pending])
    compare_button.click(ask_compare, [table, ids], [target]).then(None, [target], None, js=NAVIGATE_JS)
    confirm_no.click(lambda: (gr.update(visible=False), []), None, [confirm, pending])
    # Leaving edit mode lets the timer show running ones disappear once their process has stopped.
    confirm_yes.click(do_delete, [pending], [confirm, pending]).then(
        lambda: set_editing(False), None, [editing, edit_bar, edit_button]).then(draw, list_inputs, list_outputs,
                                                                                 **on_table)
    columns_shown = gr.State(False)
    columns_button.click(lambda shown: (not shown, gr.update(visible=not shown)), [columns_shown],
                         [columns_shown, columns_row])
    new_button.click(lambda: dialog["open_values"](), None, dialog["open_outputs"])

    def on_demo(request: gr.Request):
        # The one-click start: the demo data in this project and the dialog opened on it.
        try:
            dataset = ctx.datasets.import_demo(session.current_project(ctx)["id"], session.actor(ctx, request))
        except (DatasetError, AccessDenied) as exc:
            gr.Warning(str(exc))
            return [gr.skip()] * len(dialog["open_outputs"])
        return dialog["open_values"](ctx.experiments.draft_for_dataset(dataset["id"]))

    demo_button.click(on_demo, None, dialog["open_outputs"])
    return {"table": table, "status_filter": status_filter, "type_filter": type_filter, "search": search, "sort": sort, "columns": columns, "timer": timer,
            "dialog": dialog}


def _empty_text(ctx, project_id: str) -> str:
    if ctx.datasets.list(project_id):
        return ("### No experiments in this project yet\nPress **New Experiment** and pick one of your datasets, "
                "or start from the demo dataset (instructions and answers, a small Causal LM run).")
    return ("### No experiments in this project yet\nAn experiment fine-tunes a model on a dataset, and this "
            "project has none. Upload one on the **Datasets** page, or import the shipped demo dataset and "
            "open the New Experiment dialog on it in one click.")


def _ticked(frame, page_ids) -> list[str] | None:
    """The ids of the rows ticked in edit mode; None when the table is not in edit mode."""
    if frame is None or SELECT_COLUMN not in getattr(frame, "columns", []):
        return None
    return [page_ids[i] for i, tick_value in enumerate(frame[SELECT_COLUMN].tolist())
            if i < len(page_ids) and bool(tick_value) and str(tick_value).lower() != "false"]
