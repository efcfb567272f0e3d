"""python -m studio.serve answers the openai client like an OpenAI endpoint."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import openai
import pytest
from openai import OpenAI


@pytest.fixture()
def client(served_llama):
    return OpenAI(base_url=served_llama["base_url"], api_key=served_llama["api_key"], max_retries=0)


def ask(client, **kwargs):
    params = dict(model="tiny-llama", messages=[{"role": "user", "content": "What is the capital of France?"}],
                  max_tokens=12, temperature=0)
    params.update(kwargs)
    return client.chat.completions.create(**params)


def test_models_lists_the_served_name(client):
    assert [m.id for m in client.models.list().data] == ["tiny-llama"]


def test_health_answers_without_a_key(served_llama):
    with urllib.request.urlopen(served_llama["root"] + "/health", timeout=5) as response:
        assert json.loads(response.read())["status"] == "ok"


def test_chat_completion_reports_text_and_token_usage(client):
    response = ask(client, max_tokens=5)
    choice = response.choices[0]
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str)
    assert response.usage.prompt_tokens > 0
    assert 1 <= response.usage.completion_tokens <= 5
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    if response.usage.completion_tokens == 5:
        assert choice.finish_reason == "length"


def test_greedy_answers_are_repeatable_and_stream_the_same_text(client):
    plain = ask(client).choices[0].message.content
    assert ask(client).choices[0].message.content == plain
    chunks = list(ask(client, stream=True, stream_options={"include_usage": True}))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == plain
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes in (["length"], ["stop"])
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_stop_sequence_cuts_text_and_sets_finish_reason_stop(client):
    full = ask(client, max_tokens=24).choices[0].message.content
    assert len(full) >= 4, "the tiny model should produce some text"
    stop = full[2:4]
    response = ask(client, max_tokens=24, stop=[stop, "never-appears"])
    cut = response.choices[0].message.content
    assert cut == full[: full.index(stop)]
    assert response.choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].delta.content or "" for c in ask(client, max_tokens=24, stop=stop, stream=True)
                       if c.choices)
    assert streamed == cut


def test_max_tokens_bounds_the_completion(client):
    response = ask(client, max_tokens=3, temperature=0.8, top_p=0.9)
    assert response.usage.completion_tokens <= 3


def test_wrong_key_is_rejected_with_401(served_llama):
    client = OpenAI(base_url=served_llama["base_url"], api_key="wrong-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        client.models.list()
    assert info.value.status_code == 401
    assert info.value.body["code"] == "invalid_api_key"


def test_missing_key_is_rejected_with_openai_style_401(served_llama):
    request = urllib.request.Request(served_llama["base_url"] + "/chat/completions", method="POST",
                                     data=b'{"messages": [{"role": "user", "content": "hi"}]}',
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 401
    assert json.loads(info.value.read())["error"]["code"] == "invalid_api_key"


def test_more_than_one_choice_is_a_clear_400(client):
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, n=2)
    assert "n=1" in info.value.message


def test_unknown_model_name_is_a_404_naming_the_served_one(client):
    with pytest.raises(openai.NotFoundError) as info:
        ask(client, model="gpt-4o")
    assert "tiny-llama" in info.value.message
