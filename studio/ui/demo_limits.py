"""The Admin page's Limits section: max run time, upload size, epochs cap, Push and Deploy switches.

Wiring only: the fields come from studio/config/limits.py, the checks and the save from
studio/services/app_settings.py (``save_limits``); the rules that apply them are studio/services/limits.py.
"""
from __future__ import annotations

import gradio as gr

from studio.config.runner_settings import MAX_CONCURRENT_RUNS
from studio.services.access_policy import AccessDenied
from studio.services.app_settings import LIMIT_NUMBERS, LIMIT_SWITCHES, save_limits
from studio.store import StoreError
from studio.ui import session


def build(ctx) -> dict:
    """The section's components; ``outputs``/``values`` redraw it (the admin page calls them on load)."""
    gr.Markdown("### Limits\nWhat a public demo (or a shared Studio) allows; a demo starts with tight ones. "
                f"*{MAX_CONCURRENT_RUNS.label}* is on the [Settings](?view=settings) page.",
                elem_id="admin-demo-limits")
    with gr.Row():
        numbers = [gr.Number(label=setting.label, info=setting.help, elem_id=f"setting-{_dashed(setting.key)}")
                   for setting in LIMIT_NUMBERS]
    with gr.Row():
        switches = [gr.Checkbox(label=switch.label, info=switch.help, elem_id=f"setting-{_dashed(switch.key)}")
                    for switch in LIMIT_SWITCHES]
    save = gr.Button("Save limits", variant="primary", elem_id="admin-save-limits")
    message = gr.Markdown(elem_id="admin-limits-message")
    keys = [setting.key for setting in LIMIT_NUMBERS + LIMIT_SWITCHES]
    boxes = numbers + switches

    def values() -> list:
        settings = ctx.store.settings
        # An empty number box is the default (no limit, or the most an upload may ever have).
        return [settings.get(s.key) for s in LIMIT_NUMBERS] + [switch.value(settings) for switch in LIMIT_SWITCHES]

    def on_save(*chosen):
        try:
            note = save_limits(ctx.store, dict(zip(keys, chosen)), session.actor(ctx))
        except (StoreError, AccessDenied) as exc:
            return [f"⚠ {exc}"] + [gr.skip()] * len(boxes)
        return [note] + values()

    save.click(on_save, boxes, [message] + boxes)
    return {"outputs": boxes, "values": values, "save": save}


def _dashed(key: str) -> str:
    return key.replace("_", "-")
