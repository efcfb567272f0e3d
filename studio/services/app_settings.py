"""What the Settings page (and the Admin page's limits) may save: every value checked first, then stored,
so a wrong one changes nothing."""
from __future__ import annotations

import math

from studio.config.kgm_settings import KGM_MODEL, KGM_MODEL_MAX_LENGTH
from studio.config.limits import ALLOW_DEPLOY, ALLOW_PUSH, MAX_EPOCHS, MAX_UPLOAD_MB
from studio.config.runner_settings import (EXECUTOR, EXECUTORS, HUNG_RUN_TIMEOUT_MINUTES, MAX_CONCURRENT_RUNS,
                                           MAX_RUN_MINUTES, RAY_ADDRESS, RunnerSetting)
from studio.store import StoreError
from studio.store.names import character_problem

from .access_policy import SINGLE_USER, Actor, check_administer, secret_key
from .experiments import PRICE_SETTING
from .judge_endpoint import save_judge_endpoint
from .push import HF_TOKEN_SECRET

MAX_URL_LENGTH = 2000
# The limits the Admin page edits (a demo starts with their DEMO_DEFAULTS), in the order it shows them.
LIMIT_NUMBERS = (MAX_RUN_MINUTES, MAX_UPLOAD_MB, MAX_EPOCHS)
LIMIT_SWITCHES = (ALLOW_PUSH, ALLOW_DEPLOY)
PRICE_LABEL = "Price per GPU-hour (USD)"
JUDGE_KEY_NOTES = {
    "dropped": " The stored judge API key was removed: it was entered for the previous URL; "
               "enter the key for the new one.",
    "removed": " The stored judge API key was removed.",
}


def save_settings(store, *, price, max_concurrent, hung_timeout=None, hf_token: str | None = None, remove_hf_token: bool = False,
                  judge_url: str | None = None, judge_key: str | None = None,
                  remove_judge_key: bool = False, executor: str | None = None,
                  ray_address: str | None = None, kgm_model: str | None = None,
                  actor: Actor = SINGLE_USER) -> str:
    """Store the Settings page's values; returns the message to show, raises ``StoreError`` naming the field
    (``AccessDenied`` for a member: the shared settings are for admins; the token and judge key are
    ``actor``'s own, see ``save_credentials``).

    The limits (run time, upload size, epochs cap, Push and Deploy) are the Admin page's: ``save_limits``.
    ``kgm_model`` None leaves the stored Ask KGM model as it is; "" removes it (KGM works offline).
    """
    check_administer(actor, "the shared Settings")
    price = _price(price)
    runner_values = {MAX_CONCURRENT_RUNS: _runner_number(MAX_CONCURRENT_RUNS, max_concurrent, whole=True),
                     HUNG_RUN_TIMEOUT_MINUTES: _runner_number(HUNG_RUN_TIMEOUT_MINUTES, hung_timeout, whole=False)}
    judge_url = _judge_url(judge_url)
    executor = _executor(executor)
    ray_address = _http_url(RAY_ADDRESS.label, ray_address)
    kgm_model = _kgm_model(kgm_model)
    _check_secrets(hf_token, judge_key)
    store.settings.set(PRICE_SETTING, price)
    _store_numbers(store, runner_values)
    for setting, value in ((EXECUTOR, executor), (RAY_ADDRESS, ray_address)):
        if value:
            store.settings.set(setting.key, value)
        else:
            store.settings.delete(setting.key)
    if kgm_model is not None:
        if kgm_model:
            store.settings.set(KGM_MODEL.key, kgm_model)
        else:
            store.settings.delete(KGM_MODEL.key)
    return save_credentials(store, actor, hf_token=hf_token, remove_hf_token=remove_hf_token,
                            judge_key=judge_key, remove_judge_key=remove_judge_key, judge_url=judge_url)


def save_limits(store, limits: dict, actor: Actor = SINGLE_USER) -> str:
    """Store the Admin page's limits, all checked first (StoreError naming the field, nothing saved).

    ``limits`` maps the keys of MAX_RUN_MINUTES, MAX_UPLOAD_MB, MAX_EPOCHS (numbers; empty = the
    default) and ALLOW_PUSH, ALLOW_DEPLOY (booleans) to their new values; keys left out stay as they are.
    """
    check_administer(actor, "the limits")
    numbers = {setting: _runner_number(setting, limits[setting.key], whole=False)
               for setting in LIMIT_NUMBERS if setting.key in limits}
    switches = {switch.key: bool(limits[switch.key]) for switch in LIMIT_SWITCHES if switch.key in limits}
    _store_numbers(store, numbers)
    for key, value in switches.items():
        store.settings.set(key, value)
    return "Saved the limits."


def _store_numbers(store, values: dict[RunnerSetting, int | float | None]) -> None:
    for setting, value in values.items():
        if value is None:  # empty: the default applies
            store.settings.delete(setting.key)
        else:
            store.settings.set(setting.key, value)


def save_credentials(store, actor: Actor, *, hf_token: str | None = None, remove_hf_token: bool = False,
                     judge_key: str | None = None, remove_judge_key: bool = False,
                     judge_url: str | None = None) -> str:
    """Store ``actor``'s own Hugging Face token and judge key (any signed-in user may); ``judge_url``
    None keeps the shared judge URL, which only an admin changes."""
    _check_secrets(hf_token, judge_key)
    token_key = secret_key(actor, HF_TOKEN_SECRET)
    if remove_hf_token:
        store.secrets.delete(token_key)
    elif hf_token and hf_token.strip():
        store.secrets.set(token_key, hf_token.strip())
    key_outcome = save_judge_endpoint(store, judge_url, judge_key, remove_judge_key, user=actor.name)
    return "Saved." + JUDGE_KEY_NOTES.get(key_outcome, "")


def _check_secrets(hf_token: str | None, judge_key: str | None) -> None:
    for label, secret in (("Hugging Face token", hf_token), ("LLM judge API key", judge_key)):
        problem = character_problem(secret.strip()) if secret else None
        if problem:  # the message names a position, never the secret itself
            raise StoreError(f"{label}: {problem}")


def _price(value) -> float:
    try:
        price = float(value or 0.0)
    except (TypeError, ValueError):
        raise StoreError(f"{PRICE_LABEL}: must be a number") from None
    if not math.isfinite(price) or price < 0:
        raise StoreError(f"{PRICE_LABEL}: must be a finite number, 0 or more (got {price:g})")
    return price


def _runner_number(setting: RunnerSetting, value, whole: bool) -> int | float | None:
    """The value to store (None: remove it, so the default applies); StoreError naming the field."""
    if value is None or value == "":
        return None
    kind = "a whole number" if whole else "a number"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise StoreError(f"{setting.label}: must be {kind}") from None
    if not math.isfinite(number) or (whole and number != int(number)) or \
            (setting.minimum is not None and number < setting.minimum):
        least = f", at least {setting.minimum:g}" if setting.minimum is not None else ""
        raise StoreError(f"{setting.label}: must be {kind}{least}")
    return int(number) if whole else number


def _judge_url(value) -> str:
    return _http_url("LLM judge base URL", value)


def _kgm_model(value) -> str | None:
    if value is None:
        return None
    name = str(value).strip()
    if len(name) > KGM_MODEL_MAX_LENGTH:
        raise StoreError(f"{KGM_MODEL.label}: can have at most {KGM_MODEL_MAX_LENGTH} characters")
    problem = character_problem(name)
    if problem:
        raise StoreError(f"{KGM_MODEL.label}: {problem}")
    return name


def _executor(value) -> str | None:
    """None keeps the default (local); anything else must be a known executor."""
    name = str(value or "").strip().lower()
    if not name:
        return None
    if name not in EXECUTORS:
        raise StoreError(f"{EXECUTOR.label}: must be one of {', '.join(EXECUTORS)}")
    return name


def _http_url(label: str, value) -> str:
    url = str(value or "").strip()
    if not url:
        return ""
    if len(url) > MAX_URL_LENGTH:
        raise StoreError(f"{label}: can have at most {MAX_URL_LENGTH} characters")
    problem = character_problem(url)
    if problem:
        raise StoreError(f"{label}: {problem}")
    if not url.lower().startswith(("http://", "https://")):
        raise StoreError(f"{label}: must start with http:// or https://")
    return url
