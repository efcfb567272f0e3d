"""The experiment page's "Evaluate against…" tab: start a judged comparison, watch it, read the verdicts."""
from __future__ import annotations

import logging

import gradio as gr

from studio.services.evaluations import DEFAULT_MAX_PROMPTS, MAX_PROMPTS_LIMIT, EvaluationError
from studio.ui import session

log = logging.getLogger(__name__)
POLL_S = 2.0
VERDICT_COLUMNS = ["prompt", "candidate_answer", "baseline_answer", "outcome", "verdict_candidate_first",
                   "verdict_baseline_first", "reason_candidate_first"]
INTRO = ("Both models answer the same validation prompts, each in its own serving process; the judge "
         "endpoint from Settings compares every pair twice, with the answers swapped, so a judge that "
         "favours the first (or second) answer cannot decide the result. A prompt counts as a win only "
         "when both orders prefer this experiment; a tie counts as half.")


def build(ctx, experiment_id: gr.State) -> dict:
    gr.Markdown(INTRO)
    with gr.Row():
        baseline = gr.Dropdown(label="Baseline", choices=[], elem_id="evaluation-baseline", scale=2)
        judge_model = gr.Textbox(label="Judge model", elem_id="evaluation-judge-model", scale=1)
        prompts = gr.Number(label="Prompts", value=DEFAULT_MAX_PROMPTS, precision=0, minimum=1,
                            maximum=MAX_PROMPTS_LIMIT, elem_id="evaluation-prompts", scale=0, min_width=110)
        start = gr.Button("Evaluate", variant="primary", scale=0, min_width=120, elem_id="evaluation-start")
    status = gr.Markdown(elem_id="evaluation-status")
    result = gr.Markdown(elem_id="evaluation-result")
    verdicts = gr.Dataframe(interactive=False, wrap=True, show_label=False, visible=False,
                            elem_id="evaluation-verdicts")
    timer = gr.Timer(POLL_S, active=False)  # ticks only while an evaluation runs
    view = [status, result, verdicts, timer]

    def show(exp_id):
        try:
            return _view(ctx, exp_id)
        except Exception:  # never a raw exception on the page
            log.exception("reading the evaluations of %s", exp_id)
            return ["Could not read this experiment's evaluations (see the app log).", "",
                    gr.Dataframe(visible=False), gr.Timer(active=False)]

    def on_load(exp_id):
        choices = ctx.evaluations.baselines(exp_id) if exp_id else []
        return [gr.Dropdown(choices=choices, value=choices[0][1] if choices else None),
                ctx.evaluations.default_judge_model(exp_id) if exp_id else ""] + show(exp_id)

    def on_start(request: gr.Request, exp_id, chosen, judge, count):
        try:
            ctx.evaluations.start(exp_id, chosen, judge or "", int(count or DEFAULT_MAX_PROMPTS),
                                  actor=session.actor(ctx, request))
        except EvaluationError as exc:
            return [f"⚠️ {exc}", gr.skip(), gr.skip(), gr.Timer(active=False)]
        except Exception as exc:
            log.exception("starting an evaluation of %s", exp_id)
            return [f"⚠️ The evaluation could not start: {type(exc).__name__}", gr.skip(), gr.skip(),
                    gr.Timer(active=False)]
        return show(exp_id)

    start.click(on_start, [experiment_id, baseline, judge_model, prompts], view)
    timer.tick(show, [experiment_id], view, show_progress="hidden")
    return {"load": on_load, "inputs": [experiment_id], "outputs": [baseline, judge_model] + view}


def _view(ctx, exp_id) -> list:
    evaluations = ctx.evaluations.for_experiment(exp_id) if exp_id else []
    if not evaluations:
        return ["No evaluation yet.", "", gr.Dataframe(visible=False), gr.Timer(active=False)]
    latest = evaluations[0]
    state = latest["state"]
    running = state["status"] not in ("Completed", "Failed")
    line = f"**{state['status']}** · against {latest.get('baseline_name')} · judge `{latest.get('judge_model')}`"
    if running:
        line += f" · {state.get('stage')} ({state.get('progress', 0) * 100:.0f}%)"
    if state.get("error"):
        line += f"\n\n⚠️ {state['error']}"
    table = ctx.evaluations.verdicts(latest) if state["status"] == "Completed" else None
    return [line, _result_md(latest.get("result"), evaluations[1:]),
            gr.Dataframe(value=table[[c for c in VERDICT_COLUMNS if c in table.columns]], visible=True)
            if table is not None else gr.Dataframe(visible=False),
            gr.Timer(active=running)]


def _result_md(result: dict | None, earlier: list[dict]) -> str:
    lines = []
    if result:
        lines.append(f"### Win rate {result['win_rate'] * 100:.1f}% "
                     f"(95% CI {result['ci_low'] * 100:.1f}–{result['ci_high'] * 100:.1f}%)\n\n"
                     f"{result['wins']} wins · {result['ties']} ties · {result['losses']} losses over "
                     f"{result['total']} prompts, against {result['baseline']}")
    done = [e for e in earlier if e.get("result")]
    if done:
        lines.append("Earlier: " + "; ".join(
            f"{e['result']['win_rate'] * 100:.1f}% vs {e.get('baseline_name')}" for e in done[:5]))
    return "\n\n".join(lines)
