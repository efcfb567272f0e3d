"""LLM-as-a-Judge: an OpenAI-compatible model scores each prediction against its target.

The judge is any server the ``openai`` client can reach: OpenAI itself, or a Studio deployment
(``OPENAI_BASE_URL=http://127.0.0.1:PORT/v1``). The runner passes the base URL and key through
the environment, so they never land in the run's config.yaml.
"""
from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

DEFAULT_WORKERS = 4
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_RETRIES = 3
# Reasoning judges spend completion tokens before answering; too small a cap leaves the answer empty.
DEFAULT_MAX_COMPLETION_TOKENS = 2048


class JudgeUnavailable(RuntimeError):
    """The judge model cannot be used at all (unreachable, bad key, unknown model)."""


def score(prompts: Sequence[str], predictions: Sequence[str], targets: Sequence[str], cfg, *,
          max_workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT_S,
          retries: int = DEFAULT_RETRIES, backoff_s: float = 1.0,
          max_completion_tokens: int = DEFAULT_MAX_COMPLETION_TOKENS) -> tuple[list[float | None], list[str]]:
    """Score each (prompt, prediction, target) in 0..1; None where the judge gave no usable score.

    ``explanations[i]`` is the judge's reply (or why there is no score). Raises ``JudgeUnavailable``
    when the judge cannot be reached at all, so the caller can mark the metric failed.
    """
    if not (len(prompts) == len(predictions) == len(targets)):
        raise ValueError(f"llm_judge.score: {len(prompts)} prompts, {len(predictions)} predictions and "
                         f"{len(targets)} targets; they must be the same length")
    if not prompts:
        return [], []
    model = cfg.training.llm_judge_model
    template = cfg.training.llm_judge_prompt_template
    client = _client(timeout)

    def judge(i: int) -> tuple[float | None, str]:
        prompt = render_prompt(template, prompts[i], predictions[i], targets[i])
        reply = _ask(client, model, prompt, retries, backoff_s, max_completion_tokens)
        value = parse_score(reply)
        return value, reply if value is not None else f"no score found in the judge's reply: {reply!r}"

    results: list[tuple[float | None, str]] = [None] * len(prompts)  # type: ignore[list-item]
    # The first call alone: an unreachable judge then costs one retry cycle, not one per sample.
    try:
        results[0] = judge(0)
    except _Fatal as exc:
        raise JudgeUnavailable(_scrub(str(exc))) from None
    except _Transient as exc:
        raise JudgeUnavailable(f"the judge model {model!r} could not be reached after {retries} tries: "
                               f"{_scrub(str(exc))}") from None

    def judge_safely(i: int) -> tuple[float | None, str]:
        try:
            return judge(i)
        except (_Fatal, _Transient) as exc:
            return None, f"judge error: {_scrub(str(exc))}"

    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        for i, result in zip(range(1, len(prompts)), pool.map(judge_safely, range(1, len(prompts)))):
            results[i] = result
    return [r[0] for r in results], [r[1] for r in results]


def render_prompt(template: str, prompt: str, predicted: str, target: str) -> str:
    # str.replace, not str.format: judge templates often contain JSON or other braces.
    return (template.replace("{PROMPT}", str(prompt))
            .replace("{PREDICTED_TEXT}", str(predicted))
            .replace("{TARGET_TEXT}", str(target)))


_NUMBER = r"(\d+(?:\.\d+)?)"
_SCORE_LINE = re.compile(r"score\s*[:=]?\s*\**\s*" + _NUMBER + r"(?:\s*\**\s*/\s*(\d+(?:\.\d+)?))?", re.I)
_FRACTION = re.compile(_NUMBER + r"\s*/\s*(\d+(?:\.\d+)?)")
_BOLD = re.compile(r"\*\*\s*" + _NUMBER + r"\s*\*\*")
_ANY_NUMBER = re.compile(r"(?<![\d.])" + _NUMBER + r"(?![\d.])")


def parse_score(reply: str | None, scale: float = 10.0) -> float | None:
    """The judge's score normalised to 0..1, or None when the reply holds no score in range.

    Tries, in order: the last "Score: 7" (also "Score: **7**", "Score: 7/10"), the last "7/10",
    the last "**7**", and finally the last bare number within 0..scale.
    """
    if not reply:
        return None
    for pattern in (_SCORE_LINE, _FRACTION):
        matches = pattern.findall(reply)
        if matches:
            value, denominator = matches[-1]
            top = float(denominator) if denominator else scale
            return _normalised(float(value), top)
    bold = _BOLD.findall(reply)
    if bold:
        return _normalised(float(bold[-1]), scale)
    numbers = [float(n) for n in _ANY_NUMBER.findall(reply) if 0 <= float(n) <= scale]
    return _normalised(numbers[-1], scale) if numbers else None


def _normalised(value: float, top: float) -> float | None:
    if top <= 0 or not 0 <= value <= top:
        return None
    return value / top


class _Transient(Exception):
    """Worth retrying: connection refused, timeout, rate limit, server error."""


class _Fatal(Exception):
    """Retrying will not help: bad key, unknown model, rejected request."""


def _client(timeout: float):
    from openai import OpenAI

    base_url = os.environ.get("OPENAI_BASE_URL") or None
    api_key = os.environ.get("OPENAI_API_KEY") or None
    if api_key is None and base_url is None:
        raise JudgeUnavailable("LLM-as-a-Judge needs a judge: set an OpenAI API key in Settings "
                               "(OPENAI_API_KEY), or a base URL (OPENAI_BASE_URL) of a local deployment")
    # A local deployment without a key still needs a non-empty string for the client.
    return OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)


def _ask(client, model: str, prompt: str, retries: int, backoff_s: float, max_completion_tokens: int) -> str:
    import openai

    for attempt in range(max(1, retries)):
        try:
            response = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": prompt}],
                max_completion_tokens=max_completion_tokens)
            return response.choices[0].message.content or ""
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise _Fatal(f"the judge rejected the API key ({exc.status_code}); check the OpenAI API key "
                         "in Settings") from None
        except openai.NotFoundError as exc:
            raise _Fatal(f"the judge has no model {model!r} (training.llm_judge_model): {exc.message}") from None
        except openai.BadRequestError as exc:
            raise _Fatal(f"the judge refused the request: {exc.message}") from None
        except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError,
                openai.APIStatusError) as exc:
            last = exc
            if attempt + 1 < retries:
                time.sleep(backoff_s * 2 ** attempt)
    where = getattr(client, "base_url", "")
    raise _Transient(f"{type(last).__name__} at {where}: {getattr(last, 'message', last)}")


def _scrub(text: str) -> str:
    key = os.environ.get("OPENAI_API_KEY")
    return text.replace(key, "***") if key else text
