"""LLM-as-a-Judge: score parsing, the real call path against a local server, and an unreachable judge."""
from __future__ import annotations

import time

import pytest

from studio.config import from_dict
from studio.services.serve_process import free_port
from training.metrics.llm_judge import JudgeUnavailable, parse_score, render_prompt, score


@pytest.mark.parametrize("reply, expected", [
    ("Good answer.\nScore: 7", 0.7),
    ("Score: **9**/10", 0.9),
    ("score = 7.5", 0.75),
    ("Mostly right: 8/10", 0.8),
    ("Two facts, both right, Score: 4/5", 0.8),
    ("I would say **6**", 0.6),
    ("It has 2 errors and 11 words. Overall 3", 0.3),
    ("First 8/10, then on reflection Score: 6", 0.6),
    ("No number here at all", None),
    ("Score: 15", None),
    ("", None),
])
def test_parse_score_reads_common_judge_formats(reply, expected):
    assert parse_score(reply) == pytest.approx(expected) if expected is not None else parse_score(reply) is None


def test_prompt_template_substitutes_placeholders_and_keeps_other_braces():
    template = 'Q: {PROMPT}\nA: {PREDICTED_TEXT}\nRef: {TARGET_TEXT}\nReply as {"score": n}'
    assert render_prompt(template, "2+2?", "4", "four") == 'Q: 2+2?\nA: 4\nRef: four\nReply as {"score": n}'


def judge_config(model: str):
    return from_dict({"training": {"llm_judge_model": model}}, check_rules=False)


def test_judge_call_path_returns_none_scores_for_replies_without_a_score(served_llama, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", served_llama["base_url"])
    monkeypatch.setenv("OPENAI_API_KEY", served_llama["api_key"])
    scores, explanations = score(["What is 2+2?", "Capital of France?", "Say hi"], ["4", "Paris", "hi"],
                                 ["4", "Paris", "hello"], judge_config(served_llama["model"]),
                                 max_completion_tokens=8)
    assert len(scores) == len(explanations) == 3
    for value, why in zip(scores, explanations):
        # A random tiny model rarely writes a number; when it does, it must be in range.
        assert value is None or 0.0 <= value <= 1.0
        assert why


def test_unknown_judge_model_is_unavailable_with_the_field_name(served_llama, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", served_llama["base_url"])
    monkeypatch.setenv("OPENAI_API_KEY", served_llama["api_key"])
    with pytest.raises(JudgeUnavailable, match="training.llm_judge_model"):
        score(["q"], ["p"], ["t"], judge_config("no-such-model"), max_completion_tokens=4)


def test_unreachable_judge_raises_judge_unavailable_without_leaking_the_key(monkeypatch):
    port = free_port()  # closed again: nothing listens there
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-judge-key")
    started = time.time()
    with pytest.raises(JudgeUnavailable, match="could not be reached") as info:
        score(["q"] * 20, ["p"] * 20, ["t"] * 20, judge_config("gpt-5-mini"), retries=2, backoff_s=0.05, timeout=2)
    assert "sk-secret-judge-key" not in str(info.value)
    assert time.time() - started < 10, "an unreachable judge must fail fast, not once per sample"
