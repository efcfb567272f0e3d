"""Hand a generation model to vLLM's own OpenAI server when a GPU and vllm are present.

vLLM brings batching and paged attention that the transformers path cannot match; its server
already speaks the same API (/v1/models, /v1/chat/completions, /health), so Studio only maps
its flags onto vLLM's and replaces this process with it.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

from .generation_defaults import GenerationDefaults
from .model_loading import GENERATE, is_adapter, model_kind


def usable(model_dir: Path, device: str) -> bool:
    if device == "cpu" or importlib.util.find_spec("vllm") is None:
        return False
    if is_adapter(model_dir) or model_kind(model_dir) != GENERATE:
        return False  # adapters and classifiers take the transformers path
    import torch

    return torch.cuda.is_available()


def exec_vllm(model_dir: Path, host: str, port: int, served_name: str, api_key: str | None,
              device: str, fallback_chat_template: str, defaults: GenerationDefaults | None = None) -> None:
    """Replace this process with vLLM's server (never returns)."""
    argv = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
            "--host", host, "--port", str(port), "--served-model-name", served_name]
    if defaults is not None and defaults.source:
        # vLLM takes request defaults from a folder's generation_config.json (--generation-config).
        folder = Path(tempfile.mkdtemp(prefix="studio-serve-generation-"))
        (folder / "generation_config.json").write_text(json.dumps({
            "max_new_tokens": defaults.max_tokens, "temperature": defaults.temperature, "top_p": defaults.top_p,
            "top_k": defaults.top_k or -1, "repetition_penalty": defaults.repetition_penalty}))
        argv += ["--generation-config", str(folder)]
    if not _has_chat_template(model_dir):
        template = Path(tempfile.mkdtemp(prefix="studio-serve-")) / "chat_template.jinja"
        template.write_text(fallback_chat_template)
        argv += ["--chat-template", str(template)]
    env = dict(os.environ)
    if api_key:
        env["VLLM_API_KEY"] = api_key  # env, not argv: keys must not show in `ps`
    if device.startswith("cuda:"):
        env["CUDA_VISIBLE_DEVICES"] = _physical_gpu(device.split(":", 1)[1])
    print(f"studio.serve: handing {model_dir} to vLLM on {host}:{port}", flush=True)
    os.execve(sys.executable, argv, env)


def _physical_gpu(index: str) -> str:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return visible.split(",")[int(index)] if visible else index


def _has_chat_template(model_dir: Path) -> bool:
    if (model_dir / "chat_template.jinja").exists() or (model_dir / "chat_template.json").exists():
        return True
    config = model_dir / "tokenizer_config.json"
    return config.exists() and bool(json.loads(config.read_text()).get("chat_template"))
