"""The Settings page refuses a wrong number with the field named (issue 11 defect 9), through its
real Gradio components and handler: Gradio itself must not refuse it first without a name."""
from __future__ import annotations

import gradio as gr
import pytest

from studio.services.context import AppContext
from studio.store.database import forget_database
from studio.ui import settings as settings_page


@pytest.fixture()
def page(studio_home):
    ctx = AppContext.open(studio_home, start_runner=False)
    with gr.Blocks() as blocks:
        settings_page.build(ctx, blocks)
    on_save = next(f for f in blocks.fns.values() if getattr(f.fn, "__name__", "") == "on_save")
    yield ctx, on_save
    forget_database(studio_home / "db.json")


def submit(on_save, *payloads):
    """What Gradio does on Save: each input component's preprocess, then the handler."""
    values = [block.preprocess(payload) for block, payload in zip(on_save.inputs, payloads)]
    return on_save.fn(None, *values)  # None: Gradio's request, which names nobody without sign-in


@pytest.mark.parametrize("price,concurrent,hung,named", [
    (-3, None, None, "Price per GPU-hour (USD): must be a finite number, 0 or more (got -3)"),
    (1.0, 0, None, "Max concurrent runs"),
    (1.0, 2.5, None, "Max concurrent runs"),
    (1.0, None, -1, "minutes"),
])
def test_a_wrong_number_is_refused_with_its_field_named_and_nothing_saved(page, price, concurrent, hung, named):
    ctx, on_save = page
    message, *rest = submit(on_save, price, concurrent, hung, "", False, "", "", False, "local", "", "")
    assert message.startswith("⚠ ") and named.lower() in message.lower()
    assert ctx.store.settings.get("price_per_gpu_hour") is None


def test_valid_numbers_are_saved(page):
    ctx, on_save = page
    message, *rest = submit(on_save, 0.5, 2, None, "", False, "", "", False, "local", "", "")
    assert message.startswith("Saved") and ctx.store.settings.get("price_per_gpu_hour") == 0.5


def test_the_ask_kgm_model_is_saved_shown_and_cleared(page):
    ctx, on_save = page
    message, *shown = submit(on_save, 0, None, None, "", False, "http://127.0.0.1:9/v1", "", False, "local", "",
                             " kgm-model ")
    assert message.startswith("Saved") and ctx.store.settings.get("kgm_model") == "kgm-model"
    # after the executor and Ray address, before the limits; editable (single-user: the admin)
    assert shown[10] == {"__type__": "update", "value": "kgm-model", "interactive": True}
    message, *_ = submit(on_save, 0, None, None, "", False, "http://127.0.0.1:9/v1", "", False, "local", "",
                         "bad\x07name")
    assert message.startswith("⚠ Ask KGM language model:") and ctx.store.settings.get("kgm_model") == "kgm-model"
    submit(on_save, 0, None, None, "", False, "http://127.0.0.1:9/v1", "", False, "local", "", "")
    assert ctx.store.settings.get("kgm_model") is None
