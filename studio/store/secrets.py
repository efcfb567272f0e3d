"""Secrets (Hugging Face token, API keys) in STUDIO_HOME/secrets.json, readable by the owner only."""
from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

from studio.atomic_io import write_atomic

from .database import LOCK
from .errors import StoreError
from .storable import has_surrogate


class SecretStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def get(self, key: str, default: str | None = None) -> str | None:
        with LOCK:
            return self._read().get(key, default)

    def set(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not key.strip():
            raise StoreError("a secret needs a non-empty text key")
        if not isinstance(value, str) or not value:
            raise StoreError(f"secret {key!r} must be a non-empty text value")
        if has_surrogate(key) or has_surrogate(value) or any(unicodedata.category(c) == "Cc" for c in value):
            # It would reach a run's environment, where such characters cannot go.
            raise StoreError(f"secret {key!r} holds a control or invalid character; paste it again as plain text")
        with LOCK:
            data = self._read()
            data[key] = value
            self._write(data)

    def delete(self, key: str) -> None:
        with LOCK:
            data = self._read()
            if data.pop(key, None) is not None:
                self._write(data)

    def keys(self) -> list[str]:
        with LOCK:
            return sorted(self._read())

    def masked(self, key: str) -> str | None:
        """The secret shown safely, e.g. ``hf_…abcd``; None when it is not set."""
        value = self.get(key)
        if value is None:
            return None
        if len(value) < 12:
            return "…" + value[-2:] if len(value) > 4 else "…"
        return f"{value[:3]}…{value[-4:]}"

    def _read(self) -> dict[str, str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StoreError(
                f"the secrets file {self.path} is corrupt ({exc}); delete it and enter the "
                f"secrets again in Settings"
            ) from exc
        if not isinstance(data, dict):
            raise StoreError(f"the secrets file {self.path} is not a mapping; delete it and enter the secrets again")
        return data

    def _write(self, data: dict[str, str]) -> None:
        # write_atomic creates its temp file with mkstemp (mode 0600) and renames it,
        # so the secret is never readable by others, not even for a moment; the chmod
        # makes that explicit should the helper ever change.
        write_atomic(self.path, json.dumps(data, indent=2))
        os.chmod(self.path, 0o600)
