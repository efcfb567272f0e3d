"""Chatbot history (Gradio's message format) as OpenAI chat messages, for both Chat modes."""
from __future__ import annotations

from studio.services.chat import image_part


def plain_messages(history: list[dict], system_prompt: str | None) -> list[dict]:
    """Chatbot messages as OpenAI chat messages: text, and the user's images as base64 image parts.

    Chatbot content comes as a string, or a list of strings, ``{"type": "text"}`` /
    ``{"type": "file"}`` parts and ``{"path": ...}`` file dicts.
    """
    messages = [{"role": "system", "content": system_prompt.strip()}] if (system_prompt or "").strip() else []
    for message in history or []:
        role = message.get("role")
        if role not in ("user", "assistant"):
            continue
        texts, images = [], []
        content = message.get("content")
        for part in content if isinstance(content, list) else [content]:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text" and "text" in part:
                texts.append(str(part["text"]))
            elif isinstance(part, dict) and role == "user" and _file_path(part):
                images.append(image_part(_file_path(part)))
        text = "".join(texts)
        if images:
            messages.append({"role": role, "content": images + ([{"type": "text", "text": text}] if text else [])})
        elif texts:
            messages.append({"role": role, "content": text})
    return messages


def _file_path(part: dict) -> str | None:
    file = part.get("file") if part.get("type") == "file" else part
    return file.get("path") if isinstance(file, dict) else None
