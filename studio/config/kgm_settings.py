"""Ask KGM's entry in the store's settings table: the model it may ask for phrasing and one more idea.

KGM sends its requests to the LLM judge endpoint of the Settings page (its base URL and API key,
bound to each other as studio/services/judge_endpoint.py keeps them); this names the model there.
Empty: KGM works offline, from its own rules only.
"""
from __future__ import annotations

from .runner_settings import TextSetting

KGM_MODEL = TextSetting(
    "kgm_model", "Ask KGM language model", "",
    "A model on the LLM judge endpoint above that rephrases Ask KGM's advice and may add one more "
    "suggestion (checked against the config schema before it can be launched). Empty: Ask KGM works "
    "offline, from its own rules.")
KGM_MODEL_MAX_LENGTH = 200
KGM_REQUEST_TIMEOUT_S = 30.0
# The longest phrasing kept from the model; longer replies are cut, not trusted to be complete.
KGM_PHRASING_MAX_CHARS = 3000
