"""UTC ISO-8601 text, the format of the store's ``created`` and the engine's status.json, and back."""
from __future__ import annotations

from datetime import datetime, timezone


def iso(timestamp: float, timespec: str = "seconds") -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec=timespec)


def epoch(text) -> float | None:
    """Seconds since the epoch for an ISO-8601 text; None when absent or unreadable."""
    try:
        return datetime.fromisoformat(str(text)).timestamp() if text else None
    except ValueError:
        return None
