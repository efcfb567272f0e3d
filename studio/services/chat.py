"""Chat with any OpenAI-compatible server (a deployment, a run's chat server) over HTTP.

What a chat message may hold follows the model's problem type: text, an image (image
classifiers), or an image with a question (image-text models). Refusals of the server (a 4xx
with its OpenAI-style message) are told apart from a server that does not answer at all.
"""
from __future__ import annotations

import base64
import mimetypes
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from studio.config.problem_types import CLASSIFIER_TYPES, IMAGE_CLASSIFICATION, MULTIMODAL

TEXT, IMAGE_ONLY, IMAGE_AND_TEXT = "text", "image", "image_and_text"
# Chat uploads are read into the request; the server refuses larger bodies anyway.
MAX_CHAT_IMAGE_BYTES = 8 * 1024 * 1024


class ChatRefused(RuntimeError):
    """The model server answered, and refused the request; the message is the server's reason."""


class ChatUnreachable(RuntimeError):
    """The model server did not answer (stopped, crashed, or still loading)."""


def input_kind(problem_type: str | None) -> str:
    """What a user message to this kind of model holds: TEXT, IMAGE_ONLY or IMAGE_AND_TEXT."""
    if problem_type == IMAGE_CLASSIFICATION:
        return IMAGE_ONLY
    if problem_type == MULTIMODAL:
        return IMAGE_AND_TEXT
    return TEXT


def is_classifier(problem_type: str | None) -> bool:
    return problem_type in CLASSIFIER_TYPES


def image_part(path: str | Path) -> dict:
    """An OpenAI image_url part (a base64 data URI) of an image file on this machine."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_CHAT_IMAGE_BYTES:
        raise ChatRefused(f"the image {path.name} is {size // 1024} KiB; at most "
                          f"{MAX_CHAT_IMAGE_BYTES // 1024 // 1024} MiB can be sent")
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return {"type": "image_url",
            "image_url": {"url": f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()}}


def chat_stream(base_url: str, messages: list[dict], api_key: str | None = None, model: str | None = None,
                max_tokens: int | None = 512, temperature: float | None = 0.7, top_p: float | None = 1.0,
                timeout: float = 120.0, **extra) -> Iterator[str]:
    """Yield the assistant's reply piece by piece. ``model`` defaults to the server's only model.

    ``extra`` (repetition_penalty, top_k, num_beams, min_tokens) goes in the request body as vLLM
    and studio.serve accept it. Raises ChatRefused or ChatUnreachable.
    """
    import openai

    client = _client(base_url, api_key, timeout)
    try:
        if model is None:
            model = client.models.list().data[0].id
        settings = {k: v for k, v in dict(max_tokens=max_tokens, temperature=temperature, top_p=top_p).items()
                    if v is not None}
        stream = client.chat.completions.create(model=model, messages=messages, stream=True,
                                                extra_body={k: v for k, v in extra.items() if v is not None},
                                                **settings)
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content
    except openai.APIStatusError as exc:
        raise ChatRefused(_server_message(exc)) from None
    except openai.APIError as exc:  # connection refused, timeout, broken stream
        raise ChatUnreachable(str(exc)) from None


def classify(base_url: str, messages: list[dict], api_key: str | None = None, model: str | None = None,
             timeout: float = 120.0) -> tuple[str, dict[str, float]]:
    """The top label and every label's probability, from a classifier's server."""
    import openai

    client = _client(base_url, api_key, timeout)
    try:
        if model is None:
            model = client.models.list().data[0].id
        response = client.chat.completions.create(model=model, messages=messages)
    except openai.APIStatusError as exc:
        raise ChatRefused(_server_message(exc)) from None
    except openai.APIError as exc:
        raise ChatUnreachable(str(exc)) from None
    return response.choices[0].message.content, dict((response.model_extra or {}).get("studio_probabilities") or {})


def _client(base_url: str, api_key: str | None, timeout: float):
    from openai import OpenAI

    # Local servers without a key still need a non-empty string for the client.
    return OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)


def _server_message(exc) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    message = (error or {}).get("message") or exc.message
    return f"{message} (HTTP {exc.status_code})"


@dataclass
class Answer:
    """One side's reply so far, side by side: its text, whether it has ended, and why it failed."""

    text: str = ""
    done: bool = False
    error: str | None = None


def stream_side_by_side(requests: list[dict]) -> Iterator[list[Answer]]:
    """Stream several chat_stream(**request) replies at once; yield every side's Answer whenever one grows.

    Each side streams in its own thread, so a slow model does not hold back the other; a side that
    fails carries its error (ChatRefused / ChatUnreachable text) while the others go on. Closing the
    generator (the user pressed Stop) makes every side stop at its next piece.
    """
    answers = [Answer() for _ in requests]
    updates: queue.Queue = queue.Queue()
    stop = threading.Event()

    def pump(index: int, request: dict) -> None:
        try:
            for piece in chat_stream(**request):
                if stop.is_set():
                    break
                updates.put((index, piece, None))
        except ChatRefused as exc:
            updates.put((index, None, f"the model refused this message: {exc}"))
        except ChatUnreachable as exc:
            updates.put((index, None, f"the model server did not answer ({exc})"))
        except Exception as exc:  # the other side goes on; this one says what broke
            updates.put((index, None, f"{type(exc).__name__}: {exc}"))
        updates.put((index, None, None))

    threads = [threading.Thread(target=pump, args=(i, r), daemon=True, name=f"side-by-side-{i}")
               for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    try:
        while not all(answer.done for answer in answers):
            index, piece, error = updates.get()
            if piece is not None:
                answers[index].text += piece
            elif error is not None:
                answers[index].error = error
            else:
                answers[index].done = True
            yield [Answer(a.text, a.done, a.error) for a in answers]
    finally:
        stop.set()
