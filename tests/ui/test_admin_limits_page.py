"""The Admin page's Limits section through its real Gradio components and handler: saved, shown
again, a wrong value refused with its field named and nothing saved."""
from __future__ import annotations

import gradio as gr
import pytest

from studio.services.context import AppContext
from studio.store.database import forget_database
from studio.ui import demo_limits


@pytest.fixture()
def section(studio_home):
    ctx = AppContext.open(studio_home, start_runner=False)
    with gr.Blocks() as blocks:
        built = demo_limits.build(ctx)
    on_save = next(f for f in blocks.fns.values() if getattr(f.fn, "__name__", "") == "on_save")
    yield ctx, built, on_save
    forget_database(studio_home / "db.json")


def submit(on_save, *payloads):
    """What Gradio does on Save limits: each input component's preprocess, then the handler."""
    return on_save.fn(*[block.preprocess(payload) for block, payload in zip(on_save.inputs, payloads)])


def test_the_limits_are_saved_shown_and_a_wrong_one_named(section):
    ctx, built, on_save = section
    assert built["values"]() == [None, None, None, True, True]  # nothing limited outside a demo
    # max run time, upload MB, epochs cap, push, deploy
    message, *shown = submit(on_save, 5, 2, 3, False, True)
    assert message == "Saved the limits." and shown == [5, 2, 3, False, True]
    assert ctx.store.settings.get("allow_push") is False and ctx.store.settings.get("max_upload_mb") == 2

    message, *_ = submit(on_save, 5, 0, 3, True, True)
    assert message == "⚠ Max upload size (MB): must be a number, at least 1"
    assert ctx.store.settings.get("max_upload_mb") == 2 and ctx.store.settings.get("allow_push") is False
    assert built["values"]() == [5, 2, 3, False, True]
