"""Can this machine load the chosen model? Asked before Start, so an offline run does not fail 35 s in.

A model is loadable when it is a local folder holding a ``config.json``, when its
``config.json`` is already in the local Hugging Face cache, or when the Hub can be reached
(the download then happens at run start). The reachability check is one TCP connection,
bounded by a thread join (name resolution is not covered by socket timeouts) and remembered
for a minute, so the dialog can ask on every edit.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

REACH_TIMEOUT_S = 1.5
REACH_MEMORY_S = 60.0
CONFIG_FILE = "config.json"
_LOCAL_PREFIXES = ("/", "./", "../", "~", ".\\", "..\\")


@dataclass(frozen=True)
class Availability:
    loadable: bool
    source: str  # "local", "cache", "hub", "missing"
    message: str  # one sentence for the dialog


def is_local_path(model_id: str) -> bool:
    return model_id.startswith(_LOCAL_PREFIXES) or Path(model_id).expanduser().exists()


def local_config(model_id: str, revision: str | None = None) -> Path | None:
    """The model's config.json on this machine (its folder, or the HF cache), else None."""
    if is_local_path(model_id):
        path = Path(model_id).expanduser() / CONFIG_FILE
        return path if path.is_file() else None
    return _cached_config(model_id, revision)


def check_model(model_id: str | None, revision: str | None = None) -> Availability:
    model_id = (model_id or "").strip()
    if not model_id:
        return Availability(False, "missing", "no model is chosen")
    if is_local_path(model_id):
        folder = Path(model_id).expanduser()
        if not folder.is_dir():
            return Availability(False, "missing", f"there is no folder {model_id} on this machine")
        if not (folder / CONFIG_FILE).is_file():
            return Availability(False, "missing", f"the folder {model_id} has no {CONFIG_FILE}: "
                                "it is not a from_pretrained checkpoint")
        return Availability(True, "local", f"local folder {model_id}")
    if _cached_config(model_id, revision) is not None:
        return Availability(True, "cache", f"{model_id} is in the local Hugging Face cache")
    if _offline():
        return Availability(False, "missing", f"{model_id} is not in the local Hugging Face cache and "
                            "HF_HUB_OFFLINE is set: download it while online, or choose a local folder")
    if not hub_reachable():
        return Availability(False, "missing", f"{model_id} is not in the local Hugging Face cache and the "
                            f"Hub ({_endpoint()}) cannot be reached: choose a local folder (or a cached model)")
    return Availability(True, "hub", f"{model_id} will be downloaded from the Hub at run start")


def _cached_config(model_id: str, revision: str | None) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(model_id, CONFIG_FILE, cache_dir=_cache_dir(), revision=revision)
    except (ValueError, OSError):  # not a valid repo id
        return None
    return Path(found) if isinstance(found, str) else None


def _cache_dir() -> str:
    # Read at call time: huggingface_hub's constants are fixed when it is first imported.
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


def _offline() -> bool:
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


_reach_lock = threading.Lock()
_reach_seen: dict[str, tuple[float, bool]] = {}


def hub_reachable(timeout_s: float = REACH_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the Hub endpoint opens within ``timeout_s`` (remembered a minute)."""
    endpoint = _endpoint()
    with _reach_lock:
        seen = _reach_seen.get(endpoint)
        if seen and time.monotonic() - seen[0] < REACH_MEMORY_S:
            return seen[1]
    url = urlparse(endpoint)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    result: list[bool] = []

    def connect():
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
            result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=connect, daemon=True, name="hub-reachable")
    worker.start()
    worker.join(timeout_s)
    reachable = bool(result and result[0])
    with _reach_lock:
        _reach_seen[endpoint] = (time.monotonic(), reachable)
    return reachable


def forget_reachability() -> None:
    """Drop the remembered answer (tests, and after the user changed the network settings)."""
    with _reach_lock:
        _reach_seen.clear()


def backbone_error(model_id: str | None, revision: str | None = None) -> str | None:
    """The dialog's error for a model this machine cannot load (field path first), else None."""
    found = check_model(model_id, revision)
    return None if found.loadable else f"llm_backbone: cannot be loaded on this machine: {found.message}"


def first_loadable(model_ids: list[str]) -> str | None:
    """The first of ``model_ids`` this machine can load (local and cached models cost no network)."""
    return next((m for m in model_ids if check_model(m).loadable), None)
