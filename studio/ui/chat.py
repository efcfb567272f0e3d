"""Chat page (``chat``, ``chat?deployment=...``, ``chat?experiment=...``).

Talk to a Ready deployment, or to a Completed experiment directly: then a private chat server
(``DeploymentService.ensure_ephemeral_server``) loads the model in its own process; the app
process never loads a model. "Stop chat server" ends that process and frees its memory.
"""
from __future__ import annotations

import gradio as gr

from studio.config.problem_types import DEPLOYABLE_TYPES
from studio.services.chat import chat_stream
from studio.services.deploy import READY, DeployError

REFRESH_S = 5.0
DEPLOYMENT, EXPERIMENT = "deployment", "experiment"


def source_value(kind: str, record_id: str) -> str:
    return f"{kind}:{record_id}"


def chat_sources(ctx, project_id: str) -> list[tuple[str, str]]:
    """Ready deployments of the project, then its Completed experiments that can be served."""
    choices = [(f"Deployment · {row.get('name')}", source_value(DEPLOYMENT, row["id"]))
               for row in ctx.deploy.list() if row.get("status") == READY and row.get("project_id") == project_id]
    choices += [(f"Experiment · {row.get('name') or row['id']} (starts a chat server)",
                 source_value(EXPERIMENT, row["id"]))
                for row in ctx.store.experiments.list(project_id)
                if row.get("status") == "Completed" and row.get("problem_type") in DEPLOYABLE_TYPES]
    return choices


def plain_messages(history: list[dict], system_prompt: str | None) -> list[dict]:
    """Chatbot messages (content may be a list of parts) as OpenAI chat messages."""
    messages = [{"role": "system", "content": system_prompt.strip()}] if (system_prompt or "").strip() else []
    for message in history or []:
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if message.get("role") in ("user", "assistant") and isinstance(content, str):
            messages.append({"role": message["role"], "content": content})
    return messages


def connect(ctx, source: str) -> dict:
    """base_url / model / api_key for a chosen source; starts a chat server for an experiment.

    Raises DeployError with a message for the page (not Ready, not Completed, server died).
    """
    kind, _, record_id = (source or "").partition(":")
    if kind == DEPLOYMENT:
        row = ctx.deploy.get(record_id)
        if row.get("status") != READY:
            raise DeployError(f"deployment {row.get('name')} is {row.get('status')}, not Ready"
                              + (f": {row['error']}" if row.get("error") else "")
                              + ". Start it on the Deployments page.")
        return ctx.deploy.connection(record_id)
    if kind == EXPERIMENT:
        return {"base_url": ctx.deploy.ensure_ephemeral_server(record_id), "model": None, "api_key": None}
    raise DeployError("choose a deployment or an experiment to chat with")


def build(ctx, page_blocks: gr.Blocks) -> dict:
    gr.Markdown("# Chat\nTry a deployment, or a completed experiment directly.")
    if ctx.deploy is None:
        gr.Markdown("⚠ The deployment service is not available in this installation.")
        return {}
    with gr.Row(equal_height=True, elem_classes=["toolbar"]):
        source = gr.Dropdown(label="Chat with", choices=[], scale=3, elem_id="chat-source")
        reload = gr.Button("↻ Refresh list", size="sm", scale=0, min_width=130, elem_id="chat-reload")
        stop_server = gr.Button("Stop chat server", size="sm", scale=0, min_width=150, variant="stop",
                                elem_id="chat-stop-server")
    with gr.Accordion("Generation settings", open=False, elem_id="chat-settings"):
        with gr.Row():
            max_tokens = gr.Slider(1, 2048, value=256, step=1, label="Max new tokens", elem_id="chat-max-tokens")
            temperature = gr.Slider(0.0, 2.0, value=0.7, step=0.05, label="Temperature",
                                    info="0 = greedy decoding", elem_id="chat-temperature")
            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p", elem_id="chat-top-p")
        system = gr.Textbox(label="System prompt", lines=2, placeholder="optional", elem_id="chat-system")
    status = gr.Markdown(elem_id="chat-status")
    chatbot = gr.Chatbot(height=420, elem_id="chatbot", show_label=False,
                         placeholder="Choose what to chat with, then send a message.")
    with gr.Row(equal_height=True):
        message = gr.Textbox(show_label=False, placeholder="Message", scale=5, lines=1, elem_id="chat-input")
        send = gr.Button("Send", variant="primary", scale=0, min_width=90, elem_id="chat-send")
        halt = gr.Button("Stop", scale=0, min_width=80, elem_id="chat-halt")
        clear = gr.Button("Clear", scale=0, min_width=80, elem_id="chat-clear")
    timer = gr.Timer(REFRESH_S)
    shown_choices = gr.State([])

    def choices_update(current=None):
        choices = chat_sources(ctx, ctx.current_project()["id"])
        values = {value for _, value in choices}
        return gr.update(choices=choices, value=current if current in values else None)

    def on_load(request: gr.Request):
        params = dict(request.query_params) if request else {}
        wanted = None
        if params.get("deployment"):
            wanted = source_value(DEPLOYMENT, params["deployment"])
        elif params.get("experiment"):
            wanted = source_value(EXPERIMENT, params["experiment"])
        return choices_update(wanted)

    def tick(current, shown):
        # Keep the list fresh (a deployment turned Ready) without touching the user's choice.
        choices = chat_sources(ctx, ctx.current_project()["id"])
        if [list(c) for c in choices] == shown:
            return gr.skip(), gr.skip()
        return gr.update(choices=choices, value=current if current in {v for _, v in choices} else None), \
            [list(c) for c in choices]

    def respond(text, history, chosen, tokens, temp, nucleus, system_prompt):
        history = list(history or [])
        if not (text or "").strip():
            yield history, text, gr.skip()
            return
        if not chosen:
            yield history, text, "⚠ Choose a deployment or an experiment to chat with."
            return
        history.append({"role": "user", "content": text})
        note = "Starting a chat server (the model loads in its own process)…" \
            if chosen.startswith(EXPERIMENT) else "Sending…"
        yield history, "", note
        try:
            connection = connect(ctx, chosen)
            messages = plain_messages(history, system_prompt)
            history.append({"role": "assistant", "content": ""})
            for piece in chat_stream(connection["base_url"], messages, api_key=connection.get("api_key"),
                                     model=connection.get("model"), max_tokens=int(tokens),
                                     temperature=float(temp), top_p=float(nucleus)):
                history[-1]["content"] += piece
                yield history, "", "Generating…"
            if not history[-1]["content"]:
                history[-1]["content"] = "(empty reply)"
            yield history, "", ""
        except DeployError as exc:
            yield _without_empty_reply(history), gr.skip(), f"⚠ {exc}"
        except Exception as exc:  # openai connection/API errors: the server stopped, died or refused
            yield _without_empty_reply(history), gr.skip(), \
                f"⚠ The model server did not answer ({type(exc).__name__}: {exc}). It may have stopped or " \
                "crashed: check the Deployments page, or pick the experiment again to restart its chat server."

    def on_stop_server():
        running = ctx.store.deployments.find(ephemeral=True)
        ctx.deploy.stop_ephemeral_servers()
        if not running:
            return "No chat server is running."
        return "Chat server stopped; its memory is freed. Sending a message to an experiment starts a new one."

    inputs = [message, chatbot, source, max_tokens, temperature, top_p, system]
    outputs = [chatbot, message, status]
    page_blocks.load(on_load, None, [source])
    timer.tick(tick, [source, shown_choices], [source, shown_choices], show_progress="hidden")
    reload.click(choices_update, [source], [source])
    sent = send.click(respond, inputs, outputs)
    submitted = message.submit(respond, inputs, outputs)
    halt.click(lambda: "", None, [status], cancels=[sent, submitted])
    # Clear also ends a reply still streaming, or it would write the old history back.
    clear.click(lambda: ([], ""), None, [chatbot, status], cancels=[sent, submitted])
    stop_server.click(on_stop_server, None, [status])
    return {"chatbot": chatbot, "source": source, "status": status, "timer": timer}


def _without_empty_reply(history: list[dict]) -> list[dict]:
    if history and history[-1].get("role") == "assistant" and not history[-1].get("content"):
        return history[:-1]
    return history
