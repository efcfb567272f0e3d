"""Where the LLM-as-a-Judge metric sends its requests, as the Settings page stored it.

Training runs read the endpoint from OPENAI_BASE_URL / OPENAI_API_KEY; the settings,
when set, take precedence over the app's own environment.

A stored key is bound to the endpoint it was entered for: changing the URL without
entering a key drops the stored one, and a run is never handed a key for another host
(not the stored one, and not the app's own OPENAI_API_KEY meant for its own endpoint).
"""
from __future__ import annotations

import os

from .access_policy import secret_key

JUDGE_URL_SETTING = "judge_base_url"
JUDGE_KEY_SECRET = "judge_api_key"
# The URL the stored key was entered with (not a secret; kept in db.json beside the URL).
JUDGE_KEY_ENDPOINT_SETTING = "judge_key_endpoint"


def key_names(user: str | None) -> tuple[str, str]:
    """The secret holding ``user``'s judge key and the setting naming the URL it was entered for
    (the shared ones in single-user mode)."""
    return secret_key(user, JUDGE_KEY_SECRET), secret_key(user, JUDGE_KEY_ENDPOINT_SETTING)


def save_judge_endpoint(store, url: str | None, key: str | None = None, remove_key: bool = False,
                        user: str | None = None) -> str:
    """Store the judge URL (None: keep it) and, when given, ``user``'s key for it; returns what
    happened to the key, for the page.

    The key goes first when it must go, so a failure part way can lose the key but never
    leave it bound to a host it was not entered for. Other users' keys stay bound to the URL they
    were entered for, so a changed URL is never handed a key meant for another host.
    """
    key = (key or "").strip()
    secret, bound_setting = key_names(user)
    with store.lock:
        previous = str(store.settings.get(JUDGE_URL_SETTING, "") or "")
        url = previous if url is None else url.strip()
        had_key = store.secrets.get(secret) is not None
        if remove_key or (url != previous and not key):
            store.secrets.delete(secret)
            store.settings.delete(bound_setting)
        store.settings.set(JUDGE_URL_SETTING, url)
        if key and not remove_key:
            store.secrets.set(secret, key)
            store.settings.set(bound_setting, url)
            return "saved"
    if remove_key and had_key:
        return "removed"
    if had_key and url != previous:
        return "dropped"  # the key was for the old URL
    return "kept" if had_key else "none"


def judge_environment(store, user: str | None = None) -> dict[str, str]:
    """The judge endpoint for a run or evaluation of ``user`` (its owner): only that user's key."""
    env: dict[str, str] = {}
    base_url = str(store.settings.get(JUDGE_URL_SETTING) or "")
    if base_url:
        env["OPENAI_BASE_URL"] = base_url
    secret, bound_setting = key_names(user)
    api_key = store.secrets.get(secret)
    bound_to = store.settings.get(bound_setting)
    if api_key and (bound_to is None or bound_to == base_url):  # None: a key stored before binding
        env["OPENAI_API_KEY"] = api_key
    elif base_url and base_url != os.environ.get("OPENAI_BASE_URL", ""):
        env["OPENAI_API_KEY"] = ""  # the app's own key is for its own endpoint, not this one
    return env


NO_JUDGE_WARNING = ("No judge endpoint is configured (Settings → LLM judge base URL, or OPENAI_BASE_URL / "
                    "OPENAI_API_KEY for the app): runs will log the LLM-as-a-Judge metric as failed.")


def judge_configured(store) -> bool:
    """Whether a run would have somewhere to send judge requests: a URL in Settings, or the app's
    own OpenAI environment (a base URL, or a key for the default endpoint)."""
    return bool(str(store.settings.get(JUDGE_URL_SETTING) or "").strip()
                or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"))
