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


CONVERSATION = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"}, {"role": "user", "content": "2+2?"},
                {"role": "assistant", "content": "4"}]


def test_unroll_makes_one_sample_per_answer_of_system_prompt_user_turn_and_answer():
    # The spec: each sample is a system prompt, a user turn and the assistant answer.
    frame = number_rows(pd.DataFrame({"messages": [json.dumps(CONVERSATION), CONVERSATION[1:3]]}))
    cfg = _cfg(unroll_conversations=True, output_column=None)  # input_column "input" absent -> "messages"
    samples = rows_to_samples(frame, cfg)
    assert [(s.messages, s.answer, s.row, s.position) for s in samples] == [
        (CONVERSATION[:2], "hello", 1, 0),
        ([CONVERSATION[0], CONVERSATION[3]], "4", 1, 0),  # not the first exchange
        ([CONVERSATION[1]], "hello", 2, 1)]
    with pytest.raises(DatasetError, match="^train row 1, column 'messages'"):
        rows_to_samples(number_rows(pd.DataFrame({"messages": ["not json"]})), cfg, "train")


def test_unroll_with_history_keeps_the_earlier_turns_when_asked():
    frame = number_rows(pd.DataFrame({"messages": [CONVERSATION]}))
    cfg = _cfg(unroll_conversations=True, unroll_with_history=True, output_column=None)
    samples = rows_to_samples(frame, cfg)
    assert [(s.messages, s.answer) for s in samples] == [(CONVERSATION[:2], "hello"), (CONVERSATION[:4], "4")]


def test_a_system_column_is_the_system_prompt_of_every_unrolled_sample():
    frame = number_rows(pd.DataFrame({"messages": [CONVERSATION[1:]], "sys": ["you are terse"]}))
    samples = rows_to_samples(frame, _cfg(unroll_conversations=True, output_column=None, system_column="sys"))
    assert [s.messages[0]["content"] for s in samples] == ["you are terse", "you are terse"]
    assert [len(s.messages) for s in samples] == [2, 2]


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
        labels, sample_ids = batching.next_token_targets(batch)
        with torch.no_grad():
            logits = batching.forward_logits(model, batch)
        return batching.reduce_loss(batching.token_losses(logits, labels), sample_ids, len(samples), kind).item()

    packed = batching.collate_packed(samples)
    assert packed["input_ids"].shape == (1, 59) and "attention_mask" not in packed
    for side in ("left", "right"):
        padded = batching.collate_padded(samples, pad_id=0, side=side, quantile=1.0, max_length=64)
        assert abs(loss_of(packed) - loss_of(padded)) < 1e-4
    # Without restarting positions the sequences would see each other: the check above can fail.
    leaky = dict(packed, position_ids=torch.arange(59).unsqueeze(0))
    assert abs(loss_of(leaky) - loss_of(packed)) > 3e-4


def _full_logits_loss(model, batch, n_samples, kind):
    """The loss from every position's logits (vocabulary projection of prompt tokens included)."""
    logits = model(**batching.model_inputs(batch), use_cache=False).logits[:, :-1].float()
    labels = batch["labels"][:, 1:]
    losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE_INDEX,
                                               reduction="none")
    mask = labels != IGNORE_INDEX
    if kind == "TokenAveragedCrossEntropy":
        return (losses * mask).sum() / mask.sum()
    ids = batch["sample_ids"][:, 1:].clamp(min=0)
    sums = torch.zeros(n_samples).index_add(0, ids.reshape(-1), (losses * mask).reshape(-1))
    counts = torch.zeros(n_samples).index_add(0, ids.reshape(-1), mask.reshape(-1).float())
    return (sums[counts > 0] / counts[counts > 0]).mean()


@pytest.mark.parametrize("mode", ["lora", "full"])
@pytest.mark.parametrize("kind", ["TokenAveragedCrossEntropy", "SampleAveragedCrossEntropy"])
def test_answer_only_logits_give_the_full_logits_loss_and_gradients(tiny_llama_dir, mode, kind):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, attn_implementation="sdpa")
    if mode == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
        for name, param in model.named_parameters():  # non-zero B so LoRA gradients flow everywhere
            if "lora_B" in name:
                torch.nn.init.normal_(param, std=0.02)
    assert batching._accepts_logits_mask(model)  # the projection really is restricted to answer positions
    g = torch.Generator().manual_seed(1)
    samples = []
    for n, n_prompt in ((5, 2), (21, 15), (12, 11), (30, 10)):
        ids = torch.randint(2, 300, (n,), generator=g).tolist()
        samples.append({"input_ids": ids, "labels": [IGNORE_INDEX] * n_prompt + ids[n_prompt:]})
    batches = [batching.collate_packed(samples)] + [
        batching.collate_padded(samples, pad_id=0, side=side, quantile=1.0, max_length=64) for side in ("left", "right")]
    params = [p for p in model.parameters() if p.requires_grad]
    for batch in batches:
        labels, sample_ids = batching.next_token_targets(batch)
        logits = batching.forward_logits(model, batch)
        assert logits.shape[0] == labels.numel() == 3 + 6 + 1 + 20  # the answer tokens only
        ours = batching.reduce_loss(batching.token_losses(logits, labels), sample_ids, len(samples), kind)
        ours_grads = torch.autograd.grad(ours, params)
        reference = _full_logits_loss(model, batch, len(samples), kind)
        reference_grads = torch.autograd.grad(reference, params)
        assert abs(ours.item() - reference.item()) < 1e-5
        for a, b in zip(ours_grads, reference_grads):
            assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)


def test_packed_sdpa_equals_masked_sdpa_and_keeps_sequences_apart(tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    from training import packed_attention

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, attn_implementation="sdpa")
    g = torch.Generator().manual_seed(2)
    samples = []
    for n in (4, 19, 1, 11):
        ids = torch.randint(2, 300, (n,), generator=g).tolist()
        samples.append({"input_ids": ids, "labels": [IGNORE_INDEX] + ids[1:]})
    packed = batching.collate_packed(samples)
    padded = batching.collate_padded(samples, pad_id=0, side="left", quantile=1.0, max_length=64)
    masked = model(**batching.model_inputs(packed), use_cache=False).logits
    masked_grad = torch.autograd.grad(masked.square().mean(), model.model.layers[0].self_attn.q_proj.weight)[0]
    model.set_attn_implementation(packed_attention.NAME)
    bounds = packed_attention.sequence_boundaries(packed["position_ids"])
    assert bounds.tolist() == [0, 4, 23, 24, 35]
    ours = model(**batching.model_inputs(packed), use_cache=False, cu_seq_lens_q=bounds).logits
    ours_grad = torch.autograd.grad(ours.square().mean(), model.model.layers[0].self_attn.q_proj.weight)[0]
    assert torch.allclose(ours, masked, atol=1e-5) and torch.allclose(ours_grad, masked_grad, atol=1e-6, rtol=1e-4)
    # Without boundaries (padded batches, generation) it is plain sdpa with its mask.
    assert torch.allclose(model(**batching.model_inputs(padded), use_cache=False).logits[0, -4:], masked[0, :4],
                          atol=1e-5)
    # One sequence over the whole row would let the later sequences see the earlier ones.
    leaky = model(**batching.model_inputs(packed), use_cache=False, cu_seq_lens_q=torch.tensor([0, 35])).logits
    assert (leaky[0, 4:] - masked[0, 4:]).abs().max() > 1e-3
