"""Copy-ready curl and Python (openai client) calls for a deployment, shaped by what its model reads.

A text model gets a text message; an image classifier a base64 ``image_url`` part (the server
reads data URIs only); an image-text model an image and a question. The API key is read from
``$STUDIO_API_KEY``, never inlined.
"""
from __future__ import annotations

import json

from studio.config.problem_types import CLASSIFIER_TYPES

from .chat import IMAGE_AND_TEXT, IMAGE_ONLY, TEXT, input_kind

IMAGE_FILE = "picture.png"
QUESTION = "What is in this picture?"
OPENAI_SETTINGS = ("max_tokens", "temperature", "top_p")  # the rest go in extra_body


def snippets(row: dict, base_url: str, defaults: dict | None = None) -> dict:
    """{"curl", "python"} for the deployment ``row`` served at ``base_url``."""
    kind = input_kind(row.get("problem_type"))
    generates = row.get("problem_type") not in CLASSIFIER_TYPES
    return {"curl": _curl(row, base_url, kind), "python": _python(row, base_url, kind, generates, defaults)}


def _content(kind: str, image_expr: str):
    if kind == IMAGE_ONLY:
        return [{"type": "image_url", "image_url": {"url": image_expr}}]
    if kind == IMAGE_AND_TEXT:
        return [{"type": "image_url", "image_url": {"url": image_expr}}, {"type": "text", "text": QUESTION}]
    return "Hello!"


def _curl(row: dict, base_url: str, kind: str) -> str:
    auth = ' \\\n  -H "Authorization: Bearer $STUDIO_API_KEY"' if row.get("auth") else ""
    body = {"model": row["served_name"], "messages": [{"role": "user",
                                                        "content": _content(kind, "data:image/png;base64,$IMAGE")}]}
    head = f"curl {base_url}/chat/completions \\\n  -H \"Content-Type: application/json\"{auth}"
    if kind == TEXT:
        return f"{head} \\\n  -d '{json.dumps(body)}'"
    # The image goes through a here-document: a photo's base64 is too long for a command line.
    return (f"IMAGE=$(base64 < {IMAGE_FILE} | tr -d '\\n')\n"
            f"{head} \\\n  -d @- <<EOF\n{json.dumps(body)}\nEOF")


def _python(row: dict, base_url: str, kind: str, generates: bool, defaults: dict | None) -> str:
    key = 'os.environ["STUDIO_API_KEY"]' if row.get("auth") else '"not-needed"'
    lines = [*(["import base64"] if kind != TEXT else []), *(["import os"] if row.get("auth") else []),
             "", "from openai import OpenAI", "",
             "client = OpenAI(", f'    base_url="{base_url}",', f"    api_key={key},", ")"]
    if kind != TEXT:
        lines += [f'with open("{IMAGE_FILE}", "rb") as f:',
                  '    image = "data:image/png;base64," + base64.b64encode(f.read()).decode()']
    content = _content(kind, "IMAGE")
    lines += ["response = client.chat.completions.create(", f'    model="{row["served_name"]}",']
    if isinstance(content, str):
        lines.append(f'    messages=[{{"role": "user", "content": {json.dumps(content)}}}],')
    else:
        lines.append('    messages=[{"role": "user", "content": [')
        lines += [f"        {json.dumps(part)},".replace('"IMAGE"', "image") for part in content]
        lines.append("    ]}],")
    if generates and defaults:
        # The server already uses the run's settings; spelling them out shows what to change.
        lines += [f"    {key}={defaults[key]!r}," for key in OPENAI_SETTINGS if key in defaults]
        extra = {key: value for key, value in defaults.items() if key not in OPENAI_SETTINGS}
        if extra:
            lines += ["    # settings outside the OpenAI API, which Studio and vLLM accept:",
                      f"    extra_body={json.dumps(extra)},"]
    lines += [")", "print(response.choices[0].message.content)"]
    if not generates:
        lines.append('print(response.model_extra["studio_probabilities"])  # every label\'s probability')
    return "\n".join(line for i, line in enumerate(lines) if line or i) + "\n"

