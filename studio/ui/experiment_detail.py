"""Experiment detail view (``experiment?id=...``): live status, resources, chart, config, links, logs.

All state comes from the store and the run folder, so a refresh shows the same view. The
timer reads only what grew: metrics by byte offset, logs when their size changed,
predictions (and their thumbnails, for image problem types) when the file changed, and the
connected experiments when the runner reported a change and the set of rows differs.
"""
from __future__ import annotations

import html
import os
from pathlib import Path

import gradio as gr
import pandas as pd

from studio.config import ConfigError
from studio.config.problem_types import DEFAULT_METRICS
from studio.runner.run_folder_reader import (METRICS_FILE, SYSTEM_LOG, TERMINAL_STATUSES, TRAIN_LOG,
                                             MetricsTail, tail_log)
from studio.ui.experiment_table import format_duration, format_metric, format_time
from studio.ui.metrics_chart import build_figure, default_choice, metric_names
from studio.ui.prediction_view import prediction_view
from studio.services.access_policy import AccessDenied, may_change
from studio.services.archive import ArchiveError
from studio.store import StoreError
from studio.ui import compare_picker, evaluation_panel, session
from studio.ui.ship_actions import build_ship_actions
from studio.ui.navigation import NAVIGATE_JS, copy_experiment_url, experiment_url, study_url

REFRESH_S = 1.5
LOG_LINES = 400
ACTIVE = ("Queued", "Starting", "Training", "Validation")
# The "…" menu opens on its button and closes on any other click (an item's own handler runs
# first: this listener is on the document, reached last) or on Escape.
ACTION_MENU_JS = """() => {
  if (window.studioActionMenu) return;
  window.studioActionMenu = true;
  const menu = () => document.querySelector('#action-menu');
  document.addEventListener('click', (event) => {
    const open = menu();
    if (!open) return;
    if (event.target.closest('#action-more')) { open.classList.toggle('open'); return; }
    open.classList.remove('open');
  });
  document.addEventListener('keydown', (event) => { if (event.key === 'Escape') menu()?.classList.remove('open'); });
}"""
# Runs once the archive's path is in the hidden DownloadButton: its click downloads that file.
CLICK_ARCHIVE_JS = """(ready) => {
  if (!ready) return;
  const holder = document.querySelector('#archive-download');
  const button = holder && (holder.tagName === 'BUTTON' ? holder : holder.querySelector('button, a'));
  if (button) button.click();
}"""


def build(ctx, view) -> dict:
    experiment_id = gr.State(None)
    cache = gr.State(None)
    target = gr.Textbox(visible=False)
    archive_ready = gr.Textbox(visible=False)  # "ready" once an archive was written, for the click that fetches it
    with gr.Row(equal_height=False, elem_classes=["experiment-top"]):
        header = gr.Markdown("# Experiment", elem_id="experiment-header")
        # The spec's layout: Deploy at the top right, every other action in the "…" menu. Stop and
        # Resume stay out too: they are what a live (or stopped) run needs at hand.
        with gr.Row(equal_height=True, scale=0, elem_classes=["experiment-actions"]):
            stop = gr.Button("Stop", size="sm", scale=0, min_width=90, variant="stop", visible=False,
                             elem_id="action-stop")
            resume = gr.Button("Resume", size="sm", scale=0, min_width=90, visible=False, elem_id="action-resume")
            ship = build_ship_actions(ctx, experiment_id)
            with gr.Column(scale=0, min_width=52, elem_classes=["action-more"]):
                gr.Button("…", size="sm", min_width=52, elem_id="action-more")
                with gr.Column(elem_id="action-menu", elem_classes=["action-menu"]):
                    for item in ship["menu_items"]:  # Push to Hugging Face, Ask KGM, AutoML
                        item.render()
                    rerun = gr.Button("Rerun", size="sm", elem_id="action-rerun")
                    copy = gr.Button("Copy", size="sm", elem_id="action-copy")
                    download = gr.Button("Download logs & config", size="sm", elem_id="action-download")
                    download_model = gr.Button("Download model", size="sm", visible=False,
                                               elem_id="action-download-model")
                    # Shown once the page knows the user may delete this run (its owner or an admin).
                    delete = gr.Button("Delete", size="sm", variant="stop", elem_id="action-delete", visible=False)
    # Off-screen, never in the button row: a click on Download fills it and clicks it (one click).
    archive = gr.DownloadButton("archive", elem_id="archive-download", elem_classes=["offscreen"])
    # Why the experiment exists, when Ask KGM suggested it (the explanation stored on its row).
    suggested_by = gr.Markdown(visible=False, elem_id="experiment-explanation", elem_classes=["studio-note"])
    status_bar = gr.HTML(elem_id="status-bar")
    with gr.Accordion("Resources", open=False, elem_id="resources"):
        resources = gr.Markdown()
    with gr.Tabs():
        with gr.Tab("Charts"):
            chosen = gr.CheckboxGroup(label="Validation metrics on the right axis", choices=[], value=[],
                                      elem_id="chart-metrics")
            chart = gr.Plot(elem_id="metrics-chart", show_label=False)
        with gr.Tab("Configuration"):
            config = gr.Code(language="yaml", interactive=False, label="Resolved configuration",
                             elem_id="resolved-config")
        with gr.Tab("Connected experiments"):
            connected = gr.Dataframe(interactive=False, elem_id="connected-experiments", show_label=False)
            connected_ids = gr.State([])
        with gr.Tab("Training logs"):
            train_log = gr.Textbox(lines=18, max_lines=30, autoscroll=True, show_label=False,
                                   elem_id="train-log", elem_classes=["mono"])
        with gr.Tab("System logs"):
            system_log = gr.Textbox(lines=18, max_lines=30, autoscroll=True, show_label=False,
                                    elem_id="system-log", elem_classes=["mono"])
        with gr.Tab("Validation predictions"):
            gallery = gr.HTML(elem_id="prediction-gallery")
            predictions = gr.Dataframe(interactive=False, elem_id="predictions", show_label=False, wrap=True)
        with gr.Tab("Evaluate against…", elem_id="evaluate-tab"):
            evaluation = evaluation_panel.build(ctx, experiment_id)
        with gr.Tab("Compare with…", elem_id="compare-tab"):
            picker = compare_picker.build(ctx, experiment_id)
    with gr.Column(visible=False, elem_classes=["studio-modal", "small"]) as confirm:
        with gr.Column(elem_classes=["studio-modal-body"]):
            gr.Markdown("### Delete this experiment?\n\nIts run folder (logs, metrics, checkpoints) is "
                        "removed for good; a running experiment is stopped first.")
            with gr.Row():
                confirm_yes = gr.Button("Delete", variant="stop", elem_id="confirm-delete-experiment")
                confirm_no = gr.Button("Cancel")
    timer = gr.Timer(REFRESH_S, active=False)

    live_outputs = [header, suggested_by, status_bar, resources, stop, resume, download_model, config, chart, chosen,
                    train_log, system_log, predictions, gallery, connected, connected_ids, cache]

    def refresh(exp_id, state, shown_metrics, full: bool):
        row = ctx.store.experiments.get(exp_id) if exp_id else None
        if row is None or not ctx.projects.sees(session.actor(ctx), row):
            message = "# Experiment not found\n\nIt may have been deleted. [Back to Experiments](experiments)"
            return [message] + [gr.skip()] * (len(live_outputs) - 1)
        run_dir = ctx.experiments.run_dir(exp_id)
        state = dict(state or {}) if not full else {}
        state.setdefault("records", [])
        tail = MetricsTail(run_dir / METRICS_FILE, state.get("offset", 0))
        new_records = tail.read_new()
        state["offset"] = tail.offset
        state["records"] = state["records"] + new_records
        names = metric_names(state["records"])
        chosen_update = gr.skip()
        if names != state.get("names"):
            if not state.get("names"):  # first metrics of this view: start with the default choice
                shown_metrics = default_choice(names, _selected_metrics(ctx, row))
            chosen_update = gr.update(choices=names, value=shown_metrics)
        chart_update = build_figure(state["records"], shown_metrics) if (new_records or full) else gr.skip()
        state["names"] = names

        explanation = row.get("explanation") or ""
        mine = may_change(session.actor(ctx), row)  # Stop and Resume only for its owner or an admin
        outputs = [_header(row, _study_exists(ctx, row)), gr.update(visible=bool(explanation), value=explanation)
                   if explanation != state.get("explanation") else gr.skip(),
                   _status_html(ctx, row), _resources_md(ctx, row),
                   gr.update(visible=mine and row.get("status") in ACTIVE),
                   gr.update(visible=mine and ctx.experiments.can_resume(row)),
                   gr.update(visible=row.get("status") == "Completed"),
                   # The engine rewrites config.yaml fully resolved when it starts.
                   ctx.experiments.resolved_config_yaml(row) if row.get("status") != state.get("status")
                   else gr.skip(),
                   chart_update, chosen_update]
        state["status"], state["explanation"] = row.get("status"), explanation
        for name in (TRAIN_LOG, SYSTEM_LOG):
            size = _size(run_dir / name)
            outputs.append(tail_log(run_dir / name, LOG_LINES) if size != state.get(name) else gr.skip())
            state[name] = size
        stamp = _mtime(run_dir / "predictions.parquet")
        if stamp != state.get("predictions"):
            shown = prediction_view(ctx, row, run_dir / "predictions.parquet")
            if shown is not None:  # None: being written, the next tick retries
                state["predictions"] = stamp
            outputs += list(shown or (gr.skip(), gr.skip()))
        else:
            outputs += [gr.skip(), gr.skip()]
        connected_now = _connected_changes(ctx, exp_id, state)
        return outputs + list(connected_now or (gr.skip(), gr.skip())) + [state]

    def on_load(params: dict):
        exp_id = params.get("id")
        return [exp_id] + refresh(exp_id, None, [], full=True)

    def tick(exp_id, state, shown_metrics):
        row = ctx.store.experiments.get(exp_id) if exp_id else None
        if row is None or not ctx.projects.sees(session.actor(ctx), row):
            return [gr.skip()] * len(live_outputs)
        if row.get("status") in TERMINAL_STATUSES and state and state.get("final"):
            # The run is over; only its connected experiments (new copies, reruns) can still change.
            state = dict(state)
            connected_now = _connected_changes(ctx, exp_id, state)
            if connected_now is None:
                return [gr.skip()] * len(live_outputs)
            return [gr.skip()] * (len(live_outputs) - 3) + list(connected_now) + [state]
        outputs = refresh(exp_id, state, shown_metrics, full=False)
        # One more full read after the run ended, then the timer has nothing left to do.
        outputs[-1]["final"] = row.get("status") in TERMINAL_STATUSES
        return outputs

    def on_metrics(state, shown_metrics):
        return build_figure((state or {}).get("records", []), shown_metrics)

    def on_rerun(request: gr.Request, exp_id):
        try:
            return experiment_url(ctx.experiments.rerun(exp_id, session.actor(ctx, request))["id"])
        except ConfigError as exc:
            gr.Warning(f"Rerun needs settings that validate; use Copy to fix them: {exc}")
        except Exception as exc:
            gr.Warning(f"Rerun failed: {exc}")
        return ""

    def on_stop(request: gr.Request, exp_id):
        try:
            ctx.experiments.stop(exp_id, session.actor(ctx, request))
        except AccessDenied as exc:
            gr.Warning(str(exc))
            return
        gr.Info("Stopping the run…")

    def on_resume(request: gr.Request, exp_id):
        try:
            ctx.experiments.resume(exp_id, session.actor(ctx, request))
        except Exception as exc:
            gr.Warning(f"Resume failed: {exc}")
            return
        gr.Info("Resuming from the last checkpoint.")

    def on_delete(request: gr.Request, exp_id):
        try:
            ctx.experiments.delete([exp_id], session.actor(ctx, request))
        except AccessDenied as exc:
            gr.Warning(str(exc))
            return gr.update(visible=False), ""
        return gr.update(visible=False), "experiments"

    def on_download(exp_id, what="logs"):
        try:
            # Written inside Gradio's file cache, so the served file is this one, which expires.
            return str(ctx.experiments.download(exp_id, what, served_from=Path(archive.GRADIO_CACHE))), "ready"
        except (ArchiveError, StoreError) as exc:
            gr.Warning(str(exc))
            return gr.skip(), ""

    def on_connected_select(evt: gr.SelectData, ids):
        if not evt.index or evt.index[0] >= len(ids):
            return ""
        return experiment_url(ids[evt.index[0]])

    ctx.experiments.expire_downloads(Path(archive.GRADIO_CACHE))
    view.load(on_load, None, [experiment_id] + live_outputs, params=True).then(
        ship["refresh_by_id"], [experiment_id], ship["timer_outputs"]).then(
        lambda exp_id: gr.update(visible=may_change(session.actor(ctx), ctx.store.experiments.get(exp_id or ""))),
        [experiment_id], [delete]).then(
        evaluation["load"], evaluation["inputs"], evaluation["outputs"]).then(
        picker["load"], picker["inputs"], picker["outputs"])
    view.demo.load(None, None, None, js=ACTION_MENU_JS)
    live = lambda params: ctx.experiments.is_family_live(params.get("id"))  # noqa: E731
    # One timer for the page (each tick is a request): the run's status, chart and logs, then its actions.
    ship_inputs = ship["tick_inputs"]

    def live_tick(exp_id, state, shown_metrics, *ship_values):
        return list(tick(exp_id, state, shown_metrics)) + list(ship["tick"](*ship_values))

    view.poll(timer, live_tick, [experiment_id, cache, chosen] + ship_inputs, live_outputs + ship["tick_outputs"],
              live=live)
    chosen.input(on_metrics, [cache, chosen], [chart])
    rerun.click(on_rerun, [experiment_id], [target]).then(None, [target], None, js=NAVIGATE_JS)
    copy.click(lambda exp_id: copy_experiment_url(exp_id), [experiment_id], [target]).then(
        None, [target], None, js=NAVIGATE_JS)
    stop.click(on_stop, [experiment_id], None)
    view.rearm(resume.click(on_resume, [experiment_id], None))
    view.rearm(ship["dialogs"]["automl"]["launched"])  # its trials show under Connected experiments
    delete.click(lambda: gr.update(visible=True), None, [confirm])
    confirm_no.click(lambda: gr.update(visible=False), None, [confirm])
    confirm_yes.click(on_delete, [experiment_id], [confirm, target]).then(None, [target], None, js=NAVIGATE_JS)
    download.click(on_download, [experiment_id], [archive, archive_ready]).then(
        None, [archive_ready], None, js=CLICK_ARCHIVE_JS)
    download_model.click(lambda exp_id: on_download(exp_id, "model"), [experiment_id],
                         [archive, archive_ready]).then(None, [archive_ready], None, js=CLICK_ARCHIVE_JS)
    connected.select(on_connected_select, [connected_ids], [target]).then(None, [target], None, js=NAVIGATE_JS)
    return {"status_bar": status_bar, "chart": chart, "config": config, "connected": connected, "timer": timer}


def _study_exists(ctx, row: dict) -> bool:
    # A trial kept when its study was deleted is an ordinary experiment: no link to a missing page.
    return bool(row.get("study_id")) and ctx.studies.get(row["study_id"]) is not None


def _header(row: dict, study_exists: bool = False) -> str:
    return (f"# {html.escape(row.get('name') or '')}\n"
            f"<span class='studio-muted'>Experiment ID `{row['id']}` · dataset "
            f"{html.escape(str(row.get('dataset_name') or row.get('dataset_id') or ''))} · "
            f"{html.escape(row.get('backbone') or '')} · created {format_time(row.get('created'))}"
            + (f" · <a href='{html.escape(study_url(row['study_id']))}'>trial {row.get('trial_number')} of its "
               "AutoML study</a>"
               if study_exists else "") + "</span>")


def _status_html(ctx, row: dict) -> str:
    live = ctx.experiments.live_status(row)
    status = live.get("status") or ""
    progress = live.get("progress") if isinstance(live.get("progress"), (int, float)) else 0.0
    if status == "Completed":
        progress = 1.0
    error = f"<div class='status-error'>{html.escape(str(live['error']))}</div>" if live.get("error") else ""
    stage = str(live.get("stage") or "")
    if stage.strip().lower() == status.lower():  # "Completed · completed" says it twice
        stage = ""
    metric = format_metric(row)
    running_best = ctx.experiment_list.best_so_far(row)  # None once it ended, or before its first evaluation
    if running_best:
        metric = f"{running_best[0]} {running_best[1]:.4g} so far"
    return (f"<div class='status-bar'><span class='badge badge-{html.escape(status)}' id='status-badge'>"
            f"{html.escape(status)}</span><span class='stage'>{html.escape(stage)}</span>"
            f"<div class='progress' title='{progress:.0%}'><div style='width:{progress * 100:.1f}%'></div></div>"
            f"<span>{progress:.0%}</span>{f'<span>best {html.escape(metric)}</span>' if metric else ''}</div>"
            f"{error}")


def _resources_md(ctx, row: dict) -> str:
    res = ctx.experiments.resources(row)
    return (f"| Number of GPUs | Price per GPU-hour | Total cost | Runtime |\n|---|---|---|---|\n"
            f"| {res.gpus if res.gpus else '0 (CPU)'} | ${res.price_per_gpu_hour:,.2f} | ${res.total_cost:,.4f} | "
            f"{format_duration(res.runtime_s)} |")


def _connected_changes(ctx, exp_id, state: dict) -> tuple | None:
    """(table, ids) of the connected experiments when they differ from the shown ones, else None."""
    version = ctx.changes.version
    if state.get("connected_version") == version:  # the runner stored nothing since the last look
        return None
    state["connected_version"] = version
    frame, ids = _connected(ctx, exp_id)
    signature = frame.to_json() if not frame.empty else ""
    if signature == state.get("connected"):
        return None
    state["connected"] = signature
    return frame, ids


def _connected(ctx, exp_id):
    if not exp_id or ctx.store.experiments.get(exp_id) is None:
        return pd.DataFrame(), []
    family = ctx.experiments.connected(exp_id)
    frame = pd.DataFrame([{
        "Name": ("▶ " if r["id"] == exp_id else "") + (r.get("name") or ""),
        "Experiment ID": r["id"],
        "Connection": r.get("connection") or ("source" if any(f.get("connected_to") == r["id"] for f in family)
                                              else "standalone"),
        "Status": r.get("status") or "",
        "Created": format_time(r.get("created")),
    } for r in family])
    return frame, [r["id"] for r in family]


def _selected_metrics(ctx, row: dict) -> list[str]:
    """The run's chosen validation metrics in order (the problem type's defaults when none were chosen)."""
    try:
        chosen = ctx.experiments.config_of(row).prediction.metrics
    except ConfigError:
        chosen = None
    return list(chosen or DEFAULT_METRICS.get(row.get("problem_type"), []))


def _size(path) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _mtime(path) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None
