"""Chat with any OpenAI-compatible server (a deployment, a run's chat server) over HTTP."""
from __future__ import annotations

from typing import Iterator


def chat_stream(base_url: str, messages: list[dict], api_key: str | None = None, model: str | None = None,
                max_tokens: int = 512, temperature: float = 0.7, top_p: float = 1.0,
                timeout: float = 120.0) -> Iterator[str]:
    """Yield the assistant's reply piece by piece. ``model`` defaults to the server's only model."""
    from openai import OpenAI

    # Local servers without a key still need a non-empty string for the client.
    client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)
    if model is None:
        model = client.models.list().data[0].id
    stream = client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens,
                                            temperature=temperature, top_p=top_p, stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content
