"""The Studio web app: one page per area, linked by Gradio's navigation bar."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio.ui import chat, compare, datasets, deployments, experiment_detail, experiments, home, settings

CSS_PATH = Path(__file__).resolve().parents[2] / "assets" / "css" / "studio.css"


def build_app(ctx) -> gr.Blocks:
    with gr.Blocks(title="Studio") as demo:
        gr.Navbar(main_page_name="Home")
        home.build(ctx, demo)
    with demo.route("Datasets", "datasets"):
        datasets.build(ctx, demo)
    with demo.route("Experiments", "experiments"):
        experiments.build(ctx, demo)
    with demo.route("Experiment", "experiment", show_in_navbar=False):
        experiment_detail.build(ctx, demo)
    with demo.route("Compare", "compare", show_in_navbar=False):
        compare.build(ctx, demo)
    with demo.route("Deployments", "deployments"):
        deployments.build(ctx, demo)
    with demo.route("Chat", "chat"):
        chat.build(ctx, demo)
    with demo.route("Settings", "settings"):
        settings.build(ctx, demo)
    return demo


def css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")
