"""Settings page: cost and concurrency settings, Hugging Face token and LLM judge endpoint (secrets masked)."""
from __future__ import annotations

import gradio as gr

from studio.config.kgm_settings import KGM_MODEL
from studio.config.limits import ALLOW_DEPLOY, ALLOW_PUSH, MAX_EPOCHS, MAX_UPLOAD_MB
from studio.config.runner_settings import (EXECUTOR, EXECUTORS, HUNG_RUN_TIMEOUT_MINUTES, MAX_CONCURRENT_RUNS,
                                           MAX_RUN_MINUTES, RAY_ADDRESS)
from studio.services.app_settings import PRICE_LABEL, save_settings
from studio.services.experiments import PRICE_SETTING
from studio.services.judge_endpoint import JUDGE_KEY_SECRET, JUDGE_URL_SETTING
from studio.services.push import HF_TOKEN_SECRET
from studio.store import StoreError


def build(ctx, view) -> dict:
    gr.Markdown("# Settings")
    with gr.Row():
        # No minimum=/precision= on these boxes: Gradio would refuse -3 with "Value -3 is less than
        # minimum value 0." (no field named) or round 2.5; save_settings checks each and names it.
        price = gr.Number(label=PRICE_LABEL, elem_id="setting-price",
                          info="Used for the cost shown in each experiment's Resources.")
        concurrent = gr.Number(label=MAX_CONCURRENT_RUNS.label, elem_id="setting-concurrency",
                               info=MAX_CONCURRENT_RUNS.help)
        hung_timeout = gr.Number(label=HUNG_RUN_TIMEOUT_MINUTES.label, elem_id="setting-hung-timeout",
                                 info=HUNG_RUN_TIMEOUT_MINUTES.help)
    gr.Markdown("### Limits\nWhat a public demo (or a shared Studio) allows; a demo starts with tight ones.")
    with gr.Row():
        numbers = {setting.key: gr.Number(label=setting.label, info=setting.help,
                                          elem_id=f"setting-{setting.key.replace('_', '-')}")
                   for setting in (MAX_RUN_MINUTES, MAX_UPLOAD_MB, MAX_EPOCHS)}
    with gr.Row():
        switches = {switch.key: gr.Checkbox(label=switch.label, info=switch.help,
                                            elem_id=f"setting-{switch.key.replace('_', '-')}")
                    for switch in (ALLOW_PUSH, ALLOW_DEPLOY)}
    limit_keys = list(numbers) + list(switches)
    limit_boxes = list(numbers.values()) + list(switches.values())
    with gr.Row():
        executor = gr.Dropdown(label=EXECUTOR.label, choices=list(EXECUTORS), elem_id="setting-executor",
                               info=EXECUTOR.help)
        ray_address = gr.Textbox(label=RAY_ADDRESS.label, placeholder=RAY_ADDRESS.default,
                                 elem_id="setting-ray-address", info=RAY_ADDRESS.help)
    gr.Markdown("### Credentials\nSecrets are stored in `secrets.json` (owner-only) and shown masked; "
                "leave a field empty to keep the stored value. A judge API key belongs to its URL: "
                "changing the URL without entering a key removes the stored key.")
    with gr.Row():
        hf_token = gr.Textbox(label="Hugging Face token", type="password", elem_id="setting-hf-token")
        clear_hf = gr.Checkbox(label="Remove the stored Hugging Face token")
    with gr.Row():
        judge_url = gr.Textbox(label="LLM judge base URL (OpenAI-compatible)",
                               placeholder="https://api.openai.com/v1 or a local deployment's /v1",
                               elem_id="setting-judge-url")
        judge_key = gr.Textbox(label="LLM judge API key", type="password", elem_id="setting-judge-key")
        clear_judge = gr.Checkbox(label="Remove the stored judge API key")
    kgm_model = gr.Textbox(label=KGM_MODEL.label, info=KGM_MODEL.help, placeholder="empty: offline",
                           elem_id="setting-kgm-model")
    save = gr.Button("Save settings", variant="primary", elem_id="settings-save")
    message = gr.Markdown(elem_id="settings-message")

    def secret_hint(key: str) -> str:
        masked = ctx.store.secrets.masked(key)
        return f"stored: {masked}" if masked else "not set"

    def values():
        return (ctx.store.settings.get(PRICE_SETTING, 0.0), ctx.store.settings.get(MAX_CONCURRENT_RUNS.key),
                HUNG_RUN_TIMEOUT_MINUTES.value(ctx.store.settings),
                gr.update(value="", placeholder=secret_hint(HF_TOKEN_SECRET)),
                ctx.store.settings.get(JUDGE_URL_SETTING, ""),
                gr.update(value="", placeholder=secret_hint(JUDGE_KEY_SECRET)), False, False,
                ctx.store.settings.get(EXECUTOR.key, EXECUTOR.default), ctx.store.settings.get(RAY_ADDRESS.key, ""),
                ctx.store.settings.get(KGM_MODEL.key, KGM_MODEL.default),
                *(MAX_RUN_MINUTES.value(ctx.store.settings), ctx.store.settings.get(MAX_UPLOAD_MB.key),
                  ctx.store.settings.get(MAX_EPOCHS.key), ALLOW_PUSH.value(ctx.store.settings),
                  ALLOW_DEPLOY.value(ctx.store.settings)))

    def on_save(price_value, concurrent_value, hung_value, token, remove_token, url, key, remove_key,
                executor_value, ray_address_value, kgm_model_value, *limit_values):
        try:
            note = save_settings(ctx.store, price=price_value, max_concurrent=concurrent_value,
                                 hung_timeout=hung_value, hf_token=token, remove_hf_token=remove_token,
                                 judge_url=url, judge_key=key, remove_judge_key=remove_key,
                                 executor=executor_value, ray_address=ray_address_value,
                                 limits=dict(zip(limit_keys, limit_values)), kgm_model=kgm_model_value or "")
        except StoreError as exc:
            return (f"⚠ {exc}",) + tuple(gr.skip() for _ in outputs)
        return (note,) + values()

    outputs = [price, concurrent, hung_timeout, hf_token, judge_url, judge_key, clear_hf, clear_judge, executor,
               ray_address, kgm_model] + limit_boxes
    view.load(values, None, outputs)
    save.click(on_save, [price, concurrent, hung_timeout, hf_token, clear_hf, judge_url, judge_key, clear_judge,
                         executor, ray_address, kgm_model] + limit_boxes,
               [message] + outputs)
    return {"save": save}
