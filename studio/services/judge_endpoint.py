"""Where the LLM-as-a-Judge metric sends its requests, as the Settings page stored it.

Training runs read the endpoint from OPENAI_BASE_URL / OPENAI_API_KEY; the settings,
when set, take precedence over the app's own environment.
"""
from __future__ import annotations

JUDGE_URL_SETTING = "judge_base_url"
JUDGE_KEY_SECRET = "judge_api_key"


def judge_environment(store) -> dict[str, str]:
    env: dict[str, str] = {}
    base_url = store.settings.get(JUDGE_URL_SETTING)
    if base_url:
        env["OPENAI_BASE_URL"] = str(base_url)
    api_key = store.secrets.get(JUDGE_KEY_SECRET)
    if api_key:
        env["OPENAI_API_KEY"] = api_key
    return env
