"""Settings page: cost and concurrency settings, Hugging Face token and LLM judge endpoint (secrets masked)."""
from __future__ import annotations

import gradio as gr

from studio.config.kgm_settings import KGM_MODEL
from studio.config.runner_settings import EXECUTOR, EXECUTORS, HUNG_RUN_TIMEOUT_MINUTES, MAX_CONCURRENT_RUNS, RAY_ADDRESS
from studio.services.access_policy import AccessDenied, may_administer, secret_key
from studio.services.app_settings import PRICE_LABEL, save_credentials, save_settings
from studio.services.experiments import PRICE_SETTING
from studio.services.judge_endpoint import JUDGE_URL_SETTING, key_names
from studio.services.push import HF_TOKEN_SECRET
from studio.store import StoreError
from studio.ui import session
from studio.ui.session import with_session


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
    gr.Markdown("The limits a public demo needs (max run time, upload size, epochs cap, Push and Deploy) are on "
                "the [Admin page](?view=admin) (admins only).", elem_id="settings-limits-link")
    with gr.Row():
        executor = gr.Dropdown(label=EXECUTOR.label, choices=list(EXECUTORS), elem_id="setting-executor",
                               info=EXECUTOR.help)
        ray_address = gr.Textbox(label=RAY_ADDRESS.label, placeholder=RAY_ADDRESS.default,
                                 elem_id="setting-ray-address", info=RAY_ADDRESS.help)
    shared_note = gr.Markdown(visible=False, elem_id="settings-shared-note")
    gr.Markdown("### Credentials\nSecrets are stored in `secrets.json` (owner-only) and shown masked; "
                "leave a field empty to keep the stored value. With sign-in they are your own: your pushes "
                "use your token, your runs your judge key. A judge API key belongs to its URL: "
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
        actor = session.actor(ctx)
        admin = may_administer(actor)  # a member sees the shared settings but changes only their credentials
        shared = lambda value: gr.update(value=value, interactive=admin)  # noqa: E731
        try:
            token_hint, key_hint = secret_hint(secret_key(actor, HF_TOKEN_SECRET)), secret_hint(key_names(actor.name)[0])
        except AccessDenied:
            token_hint = key_hint = "sign in first"
        settings = ctx.store.settings
        return (shared(settings.get(PRICE_SETTING, 0.0)), shared(settings.get(MAX_CONCURRENT_RUNS.key)),
                shared(HUNG_RUN_TIMEOUT_MINUTES.value(settings)),
                gr.update(value="", placeholder=token_hint),
                shared(settings.get(JUDGE_URL_SETTING, "")),
                gr.update(value="", placeholder=key_hint), False, False,
                shared(settings.get(EXECUTOR.key, EXECUTOR.default)), shared(settings.get(RAY_ADDRESS.key, "")),
                shared(settings.get(KGM_MODEL.key, KGM_MODEL.default)),
                gr.update(visible=not admin, value="Only an admin changes the shared settings on this page; "
                          f"you ({actor.name}) can change your own credentials."))

    def on_save(price_value, concurrent_value, hung_value, token, remove_token, url, key, remove_key,
                executor_value, ray_address_value, kgm_model_value):
        actor = session.actor(ctx)
        try:
            if may_administer(actor):
                note = save_settings(ctx.store, price=price_value, max_concurrent=concurrent_value,
                                     hung_timeout=hung_value, hf_token=token, remove_hf_token=remove_token,
                                     judge_url=url, judge_key=key, remove_judge_key=remove_key,
                                     executor=executor_value, ray_address=ray_address_value,
                                     kgm_model=kgm_model_value or "",
                                     actor=actor)
            else:
                note = save_credentials(ctx.store, actor, hf_token=token, remove_hf_token=remove_token,
                                        judge_key=key, remove_judge_key=remove_key)
        except (StoreError, AccessDenied) as exc:
            return (f"⚠ {exc}",) + tuple(gr.skip() for _ in outputs)
        return (note,) + values()

    outputs = [price, concurrent, hung_timeout, hf_token, judge_url, judge_key, clear_hf, clear_judge, executor,
               ray_address, kgm_model, shared_note]
    view.load(values, None, outputs)
    save.click(with_session(on_save), [price, concurrent, hung_timeout, hf_token, clear_hf, judge_url, judge_key,
                                       clear_judge, executor, ray_address, kgm_model],
               [message] + outputs)
    return {"save": save}
