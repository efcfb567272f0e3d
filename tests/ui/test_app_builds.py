"""The whole UI builds on a fresh home and in demo mode: the smoke test every landing runs first."""
import gradio as gr

from studio.services.context import AppContext
from studio.services.demo import seed_demo
from studio.ui.app import build_app


def test_the_app_builds_on_an_empty_home(tmp_path):
    ctx = AppContext.open(tmp_path, start_runner=False)
    try:
        assert isinstance(build_app(ctx), gr.Blocks)
    finally:
        ctx.close()


def test_the_app_builds_on_a_seeded_demo_home(tmp_path):
    ctx = AppContext.open(tmp_path, start_runner=False)
    try:
        seed_demo(ctx.store, tmp_path)
        ctx.demo = True
        assert isinstance(build_app(ctx), gr.Blocks)
    finally:
        ctx.close()
