"""Chat page (``chat``, ``chat?deployment=...``, ``chat?experiment=...``).

Talk to a Ready deployment, or to a Completed experiment directly: then a private chat server
(``DeploymentService.ensure_ephemeral_server``) loads the model in its own process; the app
process never loads a model. "Stop chat server" ends that process and frees its memory.

The message box takes an image for image models (an image classifier answers with its label and
probabilities; an image-text model with text), and the generation settings start from the
run's ``prediction.*`` settings whenever a source is chosen.
"""
from __future__ import annotations

import gradio as gr

from studio.services.chat import IMAGE_AND_TEXT, IMAGE_ONLY, TEXT, ChatRefused, ChatUnreachable, chat_stream, classify
from studio.services.chat_sources import (  # noqa: F401  (source_value and the kinds: the page's address API)
    DEPLOYMENT, EXPERIMENT, chat_sources, connect, source_profile, source_value,
)
from studio.services.deploy import LIVE_STATUSES, DeployError
from studio.ui import chat_side_by_side, session
from studio.ui.chat_messages import plain_messages

REFRESH_S = 5.0
PLACEHOLDERS = {TEXT: "Message", IMAGE_ONLY: "Attach an image to classify with the paperclip, then Send",
                IMAGE_AND_TEXT: "Attach an image with the paperclip and ask about it"}


def build(ctx, view) -> dict:
    gr.Markdown("# Chat\nTry a deployment, or a completed experiment directly; **Side by side** sends one prompt "
                "to two models.")
    if ctx.deploy is None:
        gr.Markdown("⚠ The deployment service is not available in this installation.")
        return {}
    with gr.Tabs(elem_id="chat-mode"):
        with gr.Tab("One model", id="one", elem_id="chat-one-model"):
            parts = _build_one_model(ctx, view)
        with gr.Tab("Side by side", id="side-by-side", elem_id="chat-side-by-side"):
            chat_side_by_side.build(ctx, view)
    return parts


def _build_one_model(ctx, view) -> dict:
    with gr.Row(equal_height=True, elem_classes=["toolbar"]):
        source = gr.Dropdown(label="Chat with", choices=[], scale=3, elem_id="chat-source")
        reload = gr.Button("↻ Refresh list", size="sm", scale=0, min_width=130, elem_id="chat-reload")
        stop_server = gr.Button("Stop chat server", size="sm", scale=0, min_width=150, variant="stop",
                                elem_id="chat-stop-server")
    with gr.Accordion("Generation settings", open=False, elem_id="chat-settings"):
        gr.Markdown("Set from the run's prediction settings when you choose what to chat with.",
                    elem_classes=["studio-muted"])
        with gr.Row():
            max_tokens = gr.Slider(1, 2048, value=256, step=1, label="Max new tokens", elem_id="chat-max-tokens")
            temperature = gr.Slider(0.0, 2.0, value=0.7, step=0.05, label="Temperature",
                                    info="0 = greedy decoding", elem_id="chat-temperature")
            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p", elem_id="chat-top-p")
            repetition = gr.Slider(0.5, 3.0, value=1.0, step=0.05, label="Repetition penalty",
                                   info="1 = none", elem_id="chat-repetition-penalty")
        system = gr.Textbox(label="System prompt", lines=2, placeholder="optional", elem_id="chat-system")
    status = gr.Markdown(elem_id="chat-status")
    chatbot = gr.Chatbot(height=420, elem_id="chatbot", show_label=False,
                         placeholder="Choose what to chat with, then send a message.")
    with gr.Row(equal_height=True):
        message = gr.MultimodalTextbox(show_label=False, placeholder=PLACEHOLDERS[TEXT], scale=5, lines=1,
                                       file_types=["image"], file_count="single", sources=["upload"],
                                       submit_btn=False, elem_id="chat-input")
        send = gr.Button("Send", variant="primary", scale=0, min_width=90, elem_id="chat-send")
        halt = gr.Button("Stop", scale=0, min_width=80, elem_id="chat-halt")
        clear = gr.Button("Clear", scale=0, min_width=80, elem_id="chat-clear")
    timer = gr.Timer(REFRESH_S, active=False)
    shown_choices = gr.State([])
    profile = gr.State({"kind": TEXT, "classifier": False, "defaults": {}})

    def choices_update(current=None):
        choices = chat_sources(ctx, session.current_project(ctx)["id"])
        values = {value for _, value in choices}
        return gr.update(choices=choices, value=current if current in values else None)

    def on_load(params: dict):
        wanted = None
        if params.get("deployment"):
            wanted = source_value(DEPLOYMENT, params["deployment"])
        elif params.get("experiment"):
            wanted = source_value(EXPERIMENT, params["experiment"])
        return choices_update(wanted)

    def tick(current, shown):
        # Keep the list fresh (a deployment turned Ready) without touching the user's choice.
        choices = chat_sources(ctx, session.current_project(ctx)["id"])
        if [list(c) for c in choices] == shown:
            return gr.skip(), gr.skip()
        return gr.update(choices=choices, value=current if current in {v for _, v in choices} else None), \
            [list(c) for c in choices]

    def on_source(chosen):
        found = source_profile(ctx, chosen)
        d = found["defaults"]
        settings = [gr.update(value=min(int(d["max_tokens"]), 2048)) if d.get("max_tokens") else gr.skip(),
                    gr.update(value=min(float(d["temperature"]), 2.0)) if "temperature" in d else gr.skip(),
                    gr.update(value=max(float(d["top_p"]), 0.05)) if "top_p" in d else gr.skip(),
                    gr.update(value=min(max(float(d["repetition_penalty"]), 0.5), 3.0))
                    if "repetition_penalty" in d else gr.skip()]
        # A conversation is with one model: a new source starts a new chat.
        return [found, gr.update(placeholder=PLACEHOLDERS[found["kind"]]), []] + settings

    def respond(value, history, chosen, found, tokens, temp, nucleus, penalty, system_prompt):
        history = list(history or [])
        value = value or {}
        text, files = (value.get("text") or "").strip(), list(value.get("files") or [])
        kind = (found or {}).get("kind", TEXT)
        if not text and not files:
            yield history, gr.skip(), gr.skip()
            return
        if not chosen:
            yield history, gr.skip(), "⚠ Choose a deployment or an experiment to chat with."
            return
        problem = _input_problem(kind, text, files)
        if problem:
            yield history, gr.skip(), f"⚠ {problem}"
            return
        history.append({"role": "user", "content": [*({"path": f} for f in files), *([text] if text else [])]})
        note = "Starting a chat server (the model loads in its own process)…" \
            if chosen.startswith(EXPERIMENT) else "Sending…"
        yield history, None, note
        try:
            connection = connect(ctx, chosen)
            messages = plain_messages(history, system_prompt)
            target = dict(base_url=connection["base_url"], api_key=connection.get("api_key"),
                          model=connection.get("model"))
            if (found or {}).get("classifier"):
                label, probabilities = classify(messages=messages[-1:], **target)
                history.append({"role": "assistant", "content": _label_reply(label, probabilities)})
                yield history, None, ""
                return
            extra = {k: v for k, v in ((found or {}).get("defaults") or {}).items()
                     if k in ("top_k", "num_beams", "min_tokens")}
            history.append({"role": "assistant", "content": ""})
            for piece in chat_stream(messages=messages, max_tokens=int(tokens), temperature=float(temp),
                                     top_p=float(nucleus), repetition_penalty=float(penalty), **extra, **target):
                history[-1]["content"] += piece
                yield history, None, "Generating…"
            if not history[-1]["content"]:
                history[-1]["content"] = "(empty reply)"
            yield history, None, ""
        except DeployError as exc:
            yield _without_empty_reply(history), gr.skip(), f"⚠ {exc}"
        except ChatRefused as exc:
            yield _without_empty_reply(history), gr.skip(), f"⚠ The model refused this message: {exc}"
        except ChatUnreachable as exc:
            yield _without_empty_reply(history), gr.skip(), \
                f"⚠ The model server did not answer ({exc}). It may have stopped or crashed: check the " \
                "Deployments page, or pick the experiment again to restart its chat server."
        except OSError as exc:  # an uploaded image that cannot be read any more
            yield _without_empty_reply(history), gr.skip(), f"⚠ The image cannot be read: {exc}"

    def on_stop_server():
        running = ctx.store.deployments.find(ephemeral=True)
        ctx.deploy.stop_ephemeral_servers()
        if not running:
            return "No chat server is running."
        return "Chat server stopped; its memory is freed. Sending a message to an experiment starts a new one."

    inputs = [message, chatbot, source, profile, max_tokens, temperature, top_p, repetition, system]
    outputs = [chatbot, message, status]
    view.load(on_load, None, [source], params=True)
    source.change(on_source, [source], [profile, message, chatbot, max_tokens, temperature, top_p, repetition],
                  show_progress="hidden")
    # The choices change by themselves only while a deployment is starting or serving.
    view.poll(timer, tick, [source, shown_choices], [source, shown_choices],
              live=lambda _params: any(row.get("status") in LIVE_STATUSES for row in ctx.deploy.list()))
    reload.click(choices_update, [source], [source])
    sent = send.click(respond, inputs, outputs)
    submitted = message.submit(respond, inputs, outputs)
    halt.click(lambda: "", None, [status], cancels=[sent, submitted])
    # Clear also ends a reply still streaming, or it would write the old history back.
    clear.click(lambda: ([], ""), None, [chatbot, status], cancels=[sent, submitted])
    stop_server.click(on_stop_server, None, [status])
    return {"chatbot": chatbot, "source": source, "status": status, "timer": timer}


def _input_problem(kind: str, text: str, files: list[str]) -> str | None:
    """Why this message cannot go to a model of this kind, or None."""
    if kind == IMAGE_ONLY and not files:
        return "This model classifies images: attach an image (the paperclip, or drop one on the box), then send."
    if kind == TEXT and files:
        return "This model reads text only: remove the image and send text."
    if kind == IMAGE_AND_TEXT and not text:
        return "Add a question or instruction about the image."
    return None


def _label_reply(label: str, probabilities: dict[str, float]) -> str:
    top = sorted(probabilities.items(), key=lambda item: -item[1])[:5]
    return f"**{label}**" + ("\n\n" + "\n".join(f"- {name}: {p:.1%}" for name, p in top) if top else "")


def _without_empty_reply(history: list[dict]) -> list[dict]:
    if history and history[-1].get("role") == "assistant" and not history[-1].get("content"):
        return history[:-1]
    return history
