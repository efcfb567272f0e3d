"""Ask KGM with a language model: its phrasing of the advice and, perhaps, one more suggestion.

Optional. When Settings name a KGM model on the LLM judge endpoint, the evidence and KGM's own
recommendation are sent through the ``openai`` client; the model answers with a JSON object
holding its wording of the explanation and at most one extra suggestion. The extra suggestion is
trusted for nothing: it must validate against the config schema, change something, and not be a
config already run in the project, or it is dropped with the reason. KGM's evidence is always
kept as measured; any failure (no answer, not JSON) leaves KGM's own advice, with a note.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from studio.config import ConfigError, ExperimentConfig, from_dict, merge
from studio.config.kgm_settings import KGM_MODEL, KGM_PHRASING_MAX_CHARS, KGM_REQUEST_TIMEOUT_S
from studio.store.names import character_problem

from .history_evidence import ProjectHistory
from .judge_endpoint import JUDGE_URL_SETTING, judge_environment
from .recommendation import Recommendation, only_real_changes

LANGUAGE_MODEL_RULE = "language-model"
# What a suggestion may not touch: the data and the name are the user's choice, not a hyperparameter.
OFF_LIMITS = ("dataset", "experiment_name")
SYSTEM_PROMPT = """You are KGM, an experienced practitioner of LLM fine-tuning, advising a user of Studio.
You receive one run's settings, the evidence Studio measured (its curves or failure, the project's other \
runs, the model registry, its cost) and Studio's recommendation for the next run.
Reply with ONE JSON object and nothing else:
{"explanation": "<Studio's recommendation explained to the user in 2-4 sentences; keep every number>",
 "extra": null or {"title": "<short>", "explanation": "<why, citing the evidence>",
                   "overrides": {"<section>": {"<key>": <value>}}}}
"extra" is one further experiment worth running instead; use only settings keys that appear in the \
settings you were given, and never repeat Studio's recommendation."""


@dataclass(frozen=True)
class LanguageModelEndpoint:
    base_url: str
    api_key: str | None
    model: str


@dataclass
class Refinement:
    recommendation: Recommendation
    extra: Recommendation | None = None
    notes: list[str] = field(default_factory=list)  # what was dropped and why, for the dialog


def configured_endpoint(store, user: str | None = None) -> LanguageModelEndpoint | None:
    """The endpoint KGM may ask, or None (offline) unless Settings name both a judge URL and a KGM model.

    The key is ``user``'s own judge key when signed in (the shared one in single-user mode).
    """
    model = str(store.settings.get(KGM_MODEL.key) or "").strip()
    base_url = str(store.settings.get(JUDGE_URL_SETTING) or "").strip()
    if not model or not base_url:
        return None
    return LanguageModelEndpoint(base_url, judge_environment(store, user).get("OPENAI_API_KEY") or None, model)


def refine(endpoint: LanguageModelEndpoint, config: ExperimentConfig, recommendation: Recommendation,
           history: ProjectHistory | None = None,
           backbone_problem: Callable[[str], str | None] | None = None) -> Refinement:
    """Ask the endpoint; returns KGM's recommendation (phrased when the model answered) and a checked extra.

    ``backbone_problem(model_id)`` says why another backbone the model proposes cannot be used here
    (not registered for the problem type, not loadable), or None.
    """
    try:
        reply = _ask(endpoint, _request(config, recommendation))
    except Exception as exc:  # openai.APIError and its kin, a closed port, a proxy error page
        return Refinement(recommendation, None, [_scrub(f"The language model {endpoint.model} did not answer "
                                                        f"({type(exc).__name__}: {exc}); this is KGM's own "
                                                        "advice.", endpoint.api_key)])
    answer = _json_object(reply)
    if answer is None:
        return Refinement(recommendation, None, [f"The language model {endpoint.model} did not reply with a JSON "
                                                 "object; this is KGM's own advice."])
    notes: list[str] = []
    phrased = recommendation
    wording = _text(answer.get("explanation"), KGM_PHRASING_MAX_CHARS)
    if wording:
        phrased = Recommendation(recommendation.title, wording, recommendation.overrides,
                                 recommendation.evidence + [f"phrasing: the language model {endpoint.model}"],
                                 recommendation.rule)
    extra, problem = _checked_extra(answer.get("extra"), config, recommendation, history or ProjectHistory(),
                                    endpoint.model, backbone_problem)
    if problem:
        notes.append(problem)
    return Refinement(phrased, extra, notes)


def _request(config: ExperimentConfig, recommendation: Recommendation) -> list[dict]:
    data = config.model_dump(mode="json")
    settings = {key: data[key] for key in ("problem_type", "llm_backbone", "architecture", "tokenizer", "training",
                                           "prediction", "environment") if key in data}
    payload = {"settings": settings, "evidence": recommendation.evidence,
               "recommendation": {"title": recommendation.title, "explanation": recommendation.explanation,
                                  "overrides": recommendation.overrides}}
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": json.dumps(payload, indent=1, default=str)}]


def _ask(endpoint: LanguageModelEndpoint, messages: list[dict]) -> str:
    from openai import OpenAI

    # Local servers without a key still need a non-empty string for the client.
    client = OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key or "not-needed",
                    timeout=KGM_REQUEST_TIMEOUT_S, max_retries=0)
    response = client.chat.completions.create(model=endpoint.model, messages=messages, temperature=0.0)
    return response.choices[0].message.content or ""


def _json_object(reply: str) -> dict | None:
    """The reply's JSON object, also when the model wrapped it in a ```json fence or a sentence."""
    start, end = reply.find("{"), reply.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        found = json.loads(reply[start:end + 1])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _checked_extra(extra, config: ExperimentConfig, recommendation: Recommendation, history: ProjectHistory,
                   model: str, backbone_problem) -> tuple[Recommendation | None, str]:
    if extra is None:
        return None, ""
    said = "The language model's extra suggestion was dropped:"
    if not isinstance(extra, dict) or not isinstance(extra.get("overrides"), dict) or not extra["overrides"]:
        return None, f"{said} it named no settings to change."
    touched = [key for key in OFF_LIMITS if key in extra["overrides"]]
    if touched:
        return None, f"{said} it changes {touched[0]}, which is this run's choice, not a setting to tune."
    try:
        proposed = from_dict(merge(config.model_dump(mode="json"), extra["overrides"]))
    except ConfigError as exc:
        return None, f"{said} it is not a valid configuration: " + "; ".join(exc.errors)
    except (TypeError, ValueError, AttributeError) as exc:  # a section given as a list, a value of no type
        return None, f"{said} it is not a valid configuration ({exc})."
    candidate = only_real_changes(config, Recommendation(
        _text(extra.get("title"), 120) or "Another experiment to try",
        _text(extra.get("explanation"), KGM_PHRASING_MAX_CHARS) or "Suggested by the language model.",
        extra["overrides"], [f"suggested by the language model {model}"], LANGUAGE_MODEL_RULE))
    if not candidate.launchable:
        return None, f"{said} it changes nothing in this run's settings."
    if candidate.overrides == only_real_changes(config, recommendation).overrides:
        return None, f"{said} it is KGM's own suggestion again."
    earlier = history.tried(proposed)
    if earlier is not None:
        return None, f"{said} that configuration was already run in this project ({earlier.name})."
    if proposed.llm_backbone != config.llm_backbone and backbone_problem is not None:
        problem = backbone_problem(proposed.llm_backbone)
        if problem:
            return None, f"{said} {problem}."
    return candidate, ""


def _text(value, limit: int) -> str:
    """A model's text made storable: characters the store refuses dropped, cut at ``limit``."""
    if not isinstance(value, str):
        return ""
    kept = "".join(ch for ch in value if ch in "\n\t" or character_problem(ch) is None)
    return kept.strip()[:limit]


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text
