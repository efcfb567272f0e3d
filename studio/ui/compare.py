"""The Compare page (``compare?ids=a,b,c``): curves overlaid, the settings that differ, metrics side by side,
the same validation rows' predictions (with their images for image runs)."""
from __future__ import annotations

import logging

import gradio as gr

from studio.services.access_policy import AccessDenied
from studio.services.compare import CompareError, parse_ids
from studio.ui import compare_charts, session
from studio.ui.compare_predictions import predictions_table
from studio.ui.navigation import experiment_url

log = logging.getLogger(__name__)
BEST_STYLE = "background-color: #dcfce7; font-weight: 600"


def build(ctx, view) -> dict:
    ids = gr.State([])
    header = gr.Markdown("# Compare experiments", elem_id="compare-header")
    with gr.Row():
        train_chart = gr.Plot(show_label=False, elem_id="compare-train-loss")
        validation_chart = gr.Plot(show_label=False, elem_id="compare-validation-loss")
    metric = gr.Dropdown(label="Validation metric", choices=[], elem_id="compare-metric")
    metric_chart = gr.Plot(show_label=False, elem_id="compare-metric-chart")
    gr.Markdown("### Final and best metrics")
    metrics = gr.Dataframe(interactive=False, show_label=False, elem_id="compare-metrics")
    gr.Markdown("### Judged win rate")
    win_note = gr.Markdown(elem_id="compare-win-note")
    win_rates = gr.Dataframe(interactive=False, show_label=False, wrap=True, visible=False,
                             elem_id="compare-win-rates")
    gr.Markdown("### Configuration")
    all_keys = gr.Checkbox(label="Show all keys (not only those that differ)", value=False,
                           elem_id="compare-all-keys")
    config = gr.Dataframe(interactive=False, show_label=False, wrap=True, elem_id="compare-config")
    gr.Markdown("### Validation predictions, same rows")
    predictions = gr.Dataframe(interactive=False, show_label=False, wrap=True, elem_id="compare-predictions")
    # Drawn when opened: it reads every completed experiment of the project, which a comparison need not wait for.
    with gr.Accordion("Across the project: which settings mattered", open=False, elem_id="compare-parallel") \
            as across:
        project_metric = gr.Dropdown(label="Metric", choices=[], elem_id="compare-parallel-metric")
        parallel_chart = gr.Plot(show_label=False, elem_id="compare-parallel-chart")

    outputs = [ids, header, train_chart, validation_chart, metric, metric_chart, metrics, win_note, win_rates,
               config, predictions, project_metric, parallel_chart, across]
    unchanged = [gr.skip()] * (len(outputs) - 2)

    def on_load(params: dict):
        chosen = parse_ids(params.get("ids"))
        try:
            ctx.projects.check_see_experiments(session.actor(ctx), chosen)
            comparison = ctx.compare.load(chosen)
        except (CompareError, AccessDenied) as exc:
            return [chosen, f"# Compare experiments\n\n⚠️ {str(exc).rstrip('.')}. Select experiments in the Experiments list "
                    "(Edit) and press Compare, or use Compare with… on an experiment's page."] + unchanged
        except Exception:
            log.exception("comparing %s", chosen)
            return [chosen, "# Compare experiments\n\n⚠️ These experiments could not be read (see the app log)."] \
                + unchanged
        shared = comparison.shared_metrics
        first = next((m for m in shared if m != "loss"), None)
        project_choices = [m for m in shared if m != "loss"]
        return [chosen, _header(comparison),
                compare_charts.overlay(comparison, "train", "loss", "Training loss"),
                compare_charts.overlay(comparison, "validation", "loss", "Validation loss"),
                gr.Dropdown(choices=[m for m in shared if m != "loss"], value=first),
                compare_charts.overlay(comparison, "validation", first, f"Validation {first}") if first else None,
                _styled_metrics(ctx, comparison), *_win_rates(ctx, comparison), ctx.compare.config_diff(comparison),
                _predictions(ctx, comparison),
                gr.Dropdown(choices=project_choices, value=first), None, gr.Accordion(open=False)]

    def on_metric(chosen, name):
        comparison = _safe_load(ctx, chosen)
        if comparison is None or not name:
            return gr.skip()
        return compare_charts.overlay(comparison, "validation", name, f"Validation {name}")

    def on_all_keys(chosen, show_all):
        comparison = _safe_load(ctx, chosen)
        return gr.skip() if comparison is None else ctx.compare.config_diff(comparison, all_keys=show_all)

    def on_project_metric(chosen, name):
        comparison = _safe_load(ctx, chosen)
        return gr.skip() if comparison is None else _parallel(ctx, comparison, name)

    view.load(on_load, None, outputs, params=True)
    metric.input(on_metric, [ids, metric], [metric_chart])
    all_keys.input(on_all_keys, [ids, all_keys], [config])
    project_metric.input(on_project_metric, [ids, project_metric], [parallel_chart])
    across.expand(on_project_metric, [ids, project_metric], [parallel_chart])
    return {"header": header}


def _safe_load(ctx, chosen):
    try:
        return ctx.compare.load(chosen)
    except Exception:  # the page already showed why on load
        log.exception("comparing %s", chosen)
        return None


def _header(comparison) -> str:
    links = " · ".join(f"[{run.name}](/{experiment_url(run.id)}) ({run.status})" for run in comparison.runs)
    return f"# Compare {len(comparison.runs)} experiments\n\n{links}"


def _predictions(ctx, comparison):
    frame = ctx.compare.predictions(comparison)
    rows = frame["row"].tolist() if "row" in frame.columns else []
    try:
        images = ctx.compare.prediction_images(comparison, rows)
    except Exception:  # an unreadable dataset: the predictions still show, without their images
        log.exception("reading the validation images of %s", [run.id for run in comparison.runs])
        images = {}
    return predictions_table(frame, images, comparison.runs[0].problem_type, [run.name for run in comparison.runs])


def _styled_metrics(ctx, comparison):
    frame, best = ctx.compare.metrics_table(comparison)
    if frame.empty:
        return frame

    def highlight(column):
        winner = best.get(column.name)
        return [BEST_STYLE if winner is not None and name == winner else ""
                for name in frame["experiment"]]

    return frame.style.apply(highlight, axis=0).format(precision=4, na_rep="")


def _win_rates(ctx, comparison) -> list:
    """(note, table): the compared runs' judged evaluations, or how to make one."""
    try:
        table = ctx.compare.win_rates(comparison)
    except Exception:  # a broken evaluation folder must not cost the rest of the page
        log.exception("reading the evaluations of %s", [run.id for run in comparison.runs])
        return ["⚠️ The evaluations of these experiments could not be read (see the app log).",
                gr.Dataframe(visible=False)]
    if table.empty:
        return ["No judged evaluation of these experiments yet: use **Evaluate against…** on an "
                "experiment's page (against its base model or another experiment).", gr.Dataframe(visible=False)]
    return [f"{len(table)} judged evaluation(s): both orders asked, a tie counts as half a win.",
            gr.Dataframe(value=table, visible=True)]


def _parallel(ctx, comparison, metric):
    if not metric:
        return None
    first = ctx.store.experiments.get(comparison.runs[0].id) or {}
    frame = ctx.compare.project_runs(first.get("project_id"), comparison.runs[0].problem_type, metric)
    return compare_charts.parallel(frame, metric)
