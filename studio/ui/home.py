"""Home page: the current project, and a card per area with counts and recent items."""
from __future__ import annotations

import html
from collections import Counter

import gradio as gr

from studio.config.presets import TRY_IT
from studio.services.demo import try_it_target
from studio.services.disk_space import low_disk_warning
from studio.ui import session
from studio.ui.deployments import deployments_url
from studio.ui.experiment_table import format_time
from studio.ui.navigation import NAVIGATE_JS, experiment_url, new_experiment_url, view_url

REFRESH_S = 3.0
DISK_REFRESH_S = 30.0
RECENT = 5
DEMO_INTRO = ("**This is a demo.** Train a tiny chat model on the demo instructions dataset and watch its loss "
              "fall live, then open the run to see its charts, predictions and logs.")


def build(ctx, view) -> dict:
    gr.Markdown("Fine-tune open models on your own data.", elem_classes=["studio-title"])
    with gr.Row(visible=ctx.demo, elem_id="demo-intro"):
        gr.Markdown(DEMO_INTRO)
        try_it = gr.Button("Try it: train a tiny chat model", variant="primary", scale=0, min_width=260,
                           elem_id="demo-try-it")
    target = gr.Textbox(visible=False)
    try_it.click(lambda: demo_start_url(ctx), None, [target]).then(None, [target], None, js=NAVIGATE_JS)
    disk_warning = gr.Markdown(visible=False, elem_id="home-disk-warning")
    cards = gr.HTML(elem_id="home-cards")
    seen = gr.State(-1)
    timer = gr.Timer(REFRESH_S, active=False)

    def draw():
        return _cards(ctx), ctx.changes.version

    def tick(version):
        if version == ctx.changes.version:
            return gr.skip(), gr.skip()
        return draw()

    view.load(draw, None, [cards, seen])
    view.on_project_change(draw, None, [cards, seen])
    view.poll(timer, tick, [seen], [cards, seen], live=lambda _params: ctx.experiments.anything_live())

    def disk():
        warning = low_disk_warning(ctx.home)
        return gr.update(value=f"⚠ {warning}" if warning else "", visible=bool(warning))

    view.load(disk, None, [disk_warning])
    # Only running experiments fill the disk quickly, so the check polls only while one is live.
    view.poll(gr.Timer(DISK_REFRESH_S, active=False), disk, [], [disk_warning],
              live=lambda _params: ctx.experiments.anything_live())
    return {"cards": cards, "disk_warning": disk_warning, "try_it": try_it}


def demo_start_url(ctx) -> str:
    """Where the demo button goes: the New Experiment dialog on the demo dataset and tiny model."""
    found = try_it_target(ctx.store, ctx.home)
    if found is None:
        gr.Warning("The demo data is not there (seeding did not finish); see the app's log.")
        return ""
    project_id, dataset_id, model = found
    ctx.set_current_project(project_id, session.actor(ctx))  # the experiment lands beside its dataset
    return new_experiment_url(dataset_id, model, TRY_IT)


def _cards(ctx) -> str:
    project_id = session.current_project(ctx)["id"]
    datasets = ctx.store.datasets.list(project_id)
    experiments = ctx.store.experiments.list_read_only(project_id)
    counts = Counter(e.get("status") or "" for e in experiments)
    summary = " · ".join(f"{n} {s}" for s, n in counts.most_common() if s)
    html_cards = [
        _card(view_url("datasets"), "Datasets", len(datasets), "Upload and inspect training data.",
              [(d["name"], view_url("datasets"), format_time(d.get("created"))) for d in datasets[:RECENT]]),
        _card(view_url("experiments"), "Experiments", len(experiments), summary or "Fine-tuning runs of this project.",
              [(e.get("name") or e["id"], experiment_url(e["id"]), e.get("status") or "")
               for e in experiments[:RECENT]]),
    ]
    if ctx.deploy is not None:
        deployments = [d for d in ctx.store.deployments.list(project_id) if not d.get("ephemeral")]
        html_cards.append(_card(deployments_url(), "Deployments", len(deployments), "Models served with an OpenAI-compatible API.",
                                [(d.get("name") or d["id"], deployments_url(d["id"]), d.get("status") or "") for d in deployments[:RECENT]]))
    return "<div class='studio-cards'>" + "".join(html_cards) + "</div>"


def _card(href, title, count, subtitle, items) -> str:
    recent = "".join(
        f"<li>{f'<a href={html.escape(link)!r}>' if link else ''}{html.escape(str(name))}"
        f"{'</a>' if link else ''} <span class='muted'>{html.escape(str(note))}</span></li>"
        for name, link, note in items)
    body = (f"<h3>{title}</h3><div class='count'>{count}</div><div class='muted'>{html.escape(subtitle)}</div>"
            f"{f'<ul>{recent}</ul>' if recent else ''}")
    tag_open = f"<div class='studio-card' id='card-{title.lower()}'>"
    if href:
        body += f"<div><a href='{href}'>Open {title} →</a></div>"
    return tag_open + body + "</div>"
