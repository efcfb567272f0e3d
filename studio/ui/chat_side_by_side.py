"""The Chat page's "Side by side" tab: one prompt, two models, the answers streamed next to each other.

Either side is a Ready deployment, a Completed Causal LM / preference-tuned run, or such a run's
base model; picking a run offers its base model for the other side. Runs and base models are
served by private chat servers (their own processes, started together); "Stop chat servers"
ends them and frees their memory, as the one-model chat does.
"""
from __future__ import annotations

import gradio as gr

from studio.services.chat import stream_side_by_side
from studio.services.chat_sources import base_of, connect_all, side_by_side_sources, source_profile
from studio.services.deploy import DeployError
from studio.ui import session
from studio.ui.chat_messages import plain_messages


def build(ctx, view) -> dict:
    gr.Markdown("Send one prompt to two models and read their answers next to each other: a run against its "
                "base model, or two runs. Each side keeps its own conversation.", elem_classes=["studio-muted"])
    with gr.Row(equal_height=True, elem_classes=["toolbar"]):
        source_a = gr.Dropdown(label="Left", choices=[], scale=3, elem_id="chat-pair-a")
        source_b = gr.Dropdown(label="Right", choices=[], scale=3, elem_id="chat-pair-b")
        reload = gr.Button("↻ Refresh list", size="sm", scale=0, min_width=130, elem_id="chat-pair-reload")
        stop_servers = gr.Button("Stop chat servers", size="sm", scale=0, min_width=160, variant="stop",
                                 elem_id="chat-pair-stop-servers")
    with gr.Accordion("Generation settings (the same for both)", open=False, elem_id="chat-pair-settings"):
        with gr.Row():
            max_tokens = gr.Slider(1, 2048, value=256, step=1, label="Max new tokens", elem_id="chat-pair-max-tokens")
            temperature = gr.Slider(0.0, 2.0, value=0.0, step=0.05, label="Temperature", info="0 = greedy decoding",
                                    elem_id="chat-pair-temperature")
        system = gr.Textbox(label="System prompt", lines=2, placeholder="optional", elem_id="chat-pair-system")
    status = gr.Markdown(elem_id="chat-pair-status")
    with gr.Row(equal_height=True):
        answers_a = gr.Chatbot(height=380, label="Left", elem_id="chat-pair-answers-a")
        answers_b = gr.Chatbot(height=380, label="Right", elem_id="chat-pair-answers-b")
    with gr.Row(equal_height=True):
        prompt = gr.Textbox(show_label=False, placeholder="One prompt for both models", scale=5, lines=1,
                            elem_id="chat-pair-input")
        send = gr.Button("Send to both", variant="primary", scale=0, min_width=120, elem_id="chat-pair-send")
        halt = gr.Button("Stop", scale=0, min_width=80, elem_id="chat-pair-halt")
        clear = gr.Button("Clear", scale=0, min_width=80, elem_id="chat-pair-clear")

    def choices(current_a=None, current_b=None):
        found = side_by_side_sources(ctx, session.current_project(ctx)["id"])
        values = {value for _, value in found}
        return [gr.update(choices=found, value=current_a if current_a in values else None),
                gr.update(choices=found, value=current_b if current_b in values else None)]

    def on_a(chosen_a, chosen_b):
        partner = chosen_b or base_of(ctx, chosen_a)
        defaults = source_profile(ctx, chosen_a)["defaults"]
        return [gr.update(value=partner) if partner != chosen_b else gr.skip(),
                gr.Chatbot(value=[], label=_labels(ctx).get(chosen_a, "Left")),
                gr.update(value=min(int(defaults["max_tokens"]), 2048)) if defaults.get("max_tokens") else gr.skip(),
                gr.update(value=min(float(defaults["temperature"]), 2.0)) if "temperature" in defaults else gr.skip()]

    def on_b(chosen_b):
        return gr.Chatbot(value=[], label=_labels(ctx).get(chosen_b, "Right"))

    def respond(text, history_a, history_b, chosen_a, chosen_b, tokens, temp, system_prompt):
        text = (text or "").strip()
        histories = [list(history_a or []), list(history_b or [])]
        if not text:
            yield histories + [gr.skip(), gr.skip()]
            return
        problem = _pair_problem(chosen_a, chosen_b)
        if problem:
            yield histories + [gr.skip(), f"⚠ {problem}"]
            return
        for history in histories:
            history.append({"role": "user", "content": text})
        yield histories + ["", "Starting the chat servers (each model loads in its own process)…"]
        try:
            connections = connect_all(ctx, [chosen_a, chosen_b])
        except DeployError as exc:
            yield [_drop_last(h) for h in histories] + [gr.skip(), f"⚠ {exc}"]
            return
        requests = [dict(base_url=c["base_url"], api_key=c.get("api_key"), model=c.get("model"),
                         messages=plain_messages(h, system_prompt), max_tokens=int(tokens), temperature=float(temp))
                    for c, h in zip(connections, histories)]
        for history in histories:
            history.append({"role": "assistant", "content": ""})
        for answers in stream_side_by_side(requests):
            for history, answer in zip(histories, answers):
                history[-1]["content"] = answer.text + (f"\n\n⚠ {answer.error}" if answer.error else "")
            yield histories + ["", "Generating…"]
        for history in histories:
            history[-1]["content"] = history[-1]["content"] or "(empty reply)"
        yield histories + ["", ""]

    def on_stop_servers():
        running = ctx.store.deployments.find(ephemeral=True)
        ctx.deploy.stop_ephemeral_servers()
        if not running:
            return "No chat server is running."
        return f"{len(running)} chat server(s) stopped; their memory is freed."

    view.load(choices, [source_a, source_b], [source_a, source_b])
    reload.click(choices, [source_a, source_b], [source_a, source_b])
    source_a.input(on_a, [source_a, source_b], [source_b, answers_a, max_tokens, temperature],
                   show_progress="hidden")
    source_b.change(on_b, [source_b], [answers_b], show_progress="hidden")
    inputs = [prompt, answers_a, answers_b, source_a, source_b, max_tokens, temperature, system]
    outputs = [answers_a, answers_b, prompt, status]
    sent = send.click(respond, inputs, outputs)
    submitted = prompt.submit(respond, inputs, outputs)
    halt.click(lambda: "", None, [status], cancels=[sent, submitted])
    clear.click(lambda: ([], [], ""), None, [answers_a, answers_b, status], cancels=[sent, submitted])
    stop_servers.click(on_stop_servers, None, [status])
    return {"answers": [answers_a, answers_b], "status": status}


def _labels(ctx) -> dict[str, str]:
    return {value: label.removesuffix(" (starts a chat server)")
            for label, value in side_by_side_sources(ctx, session.current_project(ctx)["id"])}


def _pair_problem(chosen_a: str | None, chosen_b: str | None) -> str | None:
    if not chosen_a or not chosen_b:
        return "Choose a model for each side."
    if chosen_a == chosen_b:
        return "Choose two different models (e.g. a run and its base model)."
    return None


def _drop_last(history: list[dict]) -> list[dict]:
    return history[:-1] if history and history[-1].get("role") == "user" else history
