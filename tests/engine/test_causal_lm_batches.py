"""Causal-LM samples and batches: masking, truncation, chat templates, unrolling, packing parity."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from studio.config import from_dict
from studio.config.templates import DEFAULT_CHAT_TEMPLATE
from training import batching
from training.data import number_rows
from training.errors import DatasetError, RunError
from training.text_samples import IGNORE_INDEX, TextSample, encode, rows_to_samples, set_chat_template


def _cfg(**dataset):
    return from_dict({"dataset": {"train_dataset_id": "x", **dataset}})


@pytest.fixture(scope="module")
def tokenizer(tiny_llama_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    tok.chat_template = DEFAULT_CHAT_TEMPLATE
    return tok


def test_prompt_tokens_are_masked_and_answer_tokens_labelled(tokenizer):
    sample = TextSample([{"role": "user", "content": "repeat: cat"}], "cat", 0)
    enc = encode(tokenizer, sample, max_length=64)
    n_prompt = len(enc["prompt_ids"])
    assert enc["labels"][:n_prompt] == [IGNORE_INDEX] * n_prompt
    answer = tokenizer.decode(enc["input_ids"][n_prompt:])
    assert answer == "cat" + tokenizer.eos_token
    assert enc["labels"][n_prompt:] == enc["input_ids"][n_prompt:]
    assert tokenizer.decode(enc["prompt_ids"]).endswith("<|answer|>")


def test_truncation_cuts_the_prompt_from_the_left_and_keeps_the_answer(tokenizer):
    sample = TextSample([{"role": "user", "content": "first words " + "x " * 100 + "last"}], "the answer", 0)
    enc = encode(tokenizer, sample, max_length=24)
    assert len(enc["input_ids"]) == 24
    text = tokenizer.decode(enc["input_ids"])
    assert text.endswith("the answer" + tokenizer.eos_token) and "last" in text and "first" not in text


def test_chat_template_null_model_and_custom(tiny_llama_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    assert "Studio default" in set_chat_template(tok, _cfg())
    assert tok.chat_template == DEFAULT_CHAT_TEMPLATE
    custom = "{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}" \
             "{% if add_generation_prompt %}[assistant]{% endif %}"
    cfg = from_dict({"dataset": {"train_dataset_id": "x"}, "tokenizer": {"chat_template": custom}})
    set_chat_template(tok, cfg)
    enc = encode(tok, TextSample([{"role": "user", "content": "hi"}], "yo", 0), 64)
    assert tok.decode(enc["prompt_ids"]) == "[user]hi[assistant]"
    assert tok.decode(enc["input_ids"]) == "[user]hi[assistant]yo" + tok.eos_token  # eos appended: template has none
    # "model" keeps the tokenizer's own template, and refuses a tokenizer without one.
    model_cfg = from_dict({"dataset": {"train_dataset_id": "x"}, "tokenizer": {"chat_template": "model"}})
    assert "model's own" in set_chat_template(tok, model_cfg) and tok.chat_template == custom
    bare = AutoTokenizer.from_pretrained(tiny_llama_dir)
    bare.chat_template = None
    with pytest.raises(RunError, match="no chat template"):
        set_chat_template(bare, model_cfg)


def test_unroll_makes_one_sample_per_assistant_turn_with_its_history():
    convo = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
             {"role": "assistant", "content": "hello"}, {"role": "user", "content": "2+2?"},
             {"role": "assistant", "content": "4"}]
    frame = number_rows(pd.DataFrame({"messages": [json.dumps(convo), convo[1:3]]}))
    cfg = _cfg(unroll_conversations=True, output_column=None)  # input_column "input" absent -> "messages"
    samples = rows_to_samples(frame, cfg)
    assert [(len(s.messages), s.answer, s.row, s.position) for s in samples] == [
        (2, "hello", 1, 0), (4, "4", 1, 0), (1, "hello", 2, 1)]
    assert samples[1].messages[0] == {"role": "system", "content": "be brief"}
    assert samples[1].messages[-1] == {"role": "user", "content": "2+2?"}
    with pytest.raises(DatasetError, match="^train row 1, column 'messages'"):
        rows_to_samples(number_rows(pd.DataFrame({"messages": ["not json"]})), cfg, "train")


def test_system_column_and_multiple_output_columns():
    frame = pd.DataFrame({"input": ["q"], "a": ["one"], "b": ["two"], "sys": ["you are terse"]})
    [sample] = rows_to_samples(frame, _cfg(output_column=["a", "b"], system_column="sys"))
    assert sample.messages == [{"role": "system", "content": "you are terse"}, {"role": "user", "content": "q"}]
    assert sample.answer == "one\ntwo"


def test_padded_batch_respects_quantile_and_side():
    samples = [{"input_ids": [5] * n, "labels": [5] * n} for n in (2, 4, 10)]
    batch = batching.collate_padded(samples, pad_id=0, side="left", quantile=0.5, max_length=64)
    assert batch["input_ids"].shape == (3, 4)  # median length; the longest keeps its last 4 tokens
    assert batch["attention_mask"][0].tolist() == [0, 0, 1, 1]
    assert batch["position_ids"][0].tolist() == [0, 0, 0, 1]
    right = batching.collate_padded(samples, pad_id=0, side="right", quantile=1.0, max_length=64)
    assert right["input_ids"].shape == (3, 10) and right["attention_mask"][0, :2].tolist() == [1, 1]


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("kind", ["TokenAveragedCrossEntropy", "SampleAveragedCrossEntropy"])
def test_packed_loss_equals_padded_loss(tiny_llama_dir, attn, kind):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, attn_implementation=attn).eval()
    g = torch.Generator().manual_seed(0)
    samples = []
    for n in (3, 17, 9, 30):
        ids = torch.randint(2, 300, (n,), generator=g).tolist()
        samples.append({"input_ids": ids, "labels": [IGNORE_INDEX] * (n // 3) + ids[n // 3:]})

    def loss_of(batch):
        with torch.no_grad():
            logits = batching.forward_logits(model, batch)
        losses, mask = batching.token_losses(logits, batch["labels"])
        return batching.reduce_loss(losses, mask, batch["sample_ids"], len(samples), kind).item()

    packed = batching.collate_packed(samples)
    assert packed["input_ids"].shape == (1, 59) and "attention_mask" not in packed
    for side in ("left", "right"):
        padded = batching.collate_padded(samples, pad_id=0, side=side, quantile=1.0, max_length=64)
        assert abs(loss_of(packed) - loss_of(padded)) < 1e-4
    # Without restarting positions the sequences would see each other: the check above can fail.
    leaky = dict(packed, position_ids=torch.arange(59).unsqueeze(0))
    assert abs(loss_of(leaky) - loss_of(packed)) > 3e-4
