"""The operator's limits (studio/config/limits.py) as rules every service asks before it acts.

Each check returns the sentence to show, or None when the limit allows it; the service raises it
as its own error type (DatasetError, ConfigError, PushError, DeployError), so every caller (UI,
AutoML, Ask KGM, tests) meets the same refusal. The UI asks the same functions to hide or
disable what would be refused.
"""
from __future__ import annotations

from studio.config.data_bounds import MAX_UPLOAD_BYTES, MIB, size_text
from studio.config.limits import ALLOW_DEPLOY, ALLOW_PUSH, DEMO_DEFAULTS, MAX_EPOCHS, MAX_UPLOAD_MB

# Set once the demo's defaults were written, so a value the operator clears later stays cleared.
DEMO_LIMITS_APPLIED = "demo_limits_applied"
SWITCHES = {"push": ALLOW_PUSH, "deploy": ALLOW_DEPLOY}


def apply_demo_defaults(store) -> list[str]:
    """Give a demo's limits their demo values, once per store; keys an operator set are kept."""
    if store.settings.get(DEMO_LIMITS_APPLIED):
        return []
    stored = store.settings.all()
    added = [key for key in DEMO_DEFAULTS if key not in stored]
    for key in added:
        store.settings.set(key, DEMO_DEFAULTS[key])
    store.settings.set(DEMO_LIMITS_APPLIED, True)
    return added


def max_upload_bytes(store) -> int:
    return min(MAX_UPLOAD_BYTES, int(MAX_UPLOAD_MB.value(store.settings) * MIB))


def upload_problem(store, filename: str, size: int) -> str | None:
    limit = max_upload_bytes(store)
    if size <= limit:
        return None
    return (f"{filename}: the file has {size_text(size)}, more than the {size_text(limit)} an upload may have "
            f"on this Studio ({MAX_UPLOAD_MB.label} on the Admin page); nothing was stored")


def epochs_problem(store, epochs: float) -> str | None:
    cap = MAX_EPOCHS.value(store.settings)
    if cap is None or epochs <= cap:
        return None
    return (f"training.epochs: {epochs:g} is more than the {cap:g} epochs this Studio allows "
            f"({MAX_EPOCHS.label} on the Admin page); lower it")


def action_refusal(store, action: str) -> str | None:
    """Why ``action`` ("push" or "deploy") is turned off, or None when it is allowed."""
    switch = SWITCHES[action]
    return None if switch.value(store.settings) else switch.off_reason
