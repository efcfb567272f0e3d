"""Multimodal honours tokenizer.tokenizer_kwargs and tokenizer.padding_quantile (never cutting image tokens)."""
from __future__ import annotations

import torch

from studio.config import from_dict
from training import batching
from training.problems.multimodal import MultimodalProblem
from training.run_folder import RunLogs
from training.text_samples import IGNORE_INDEX

MULTIMODAL = "multimodal_causal_language_modeling"


def test_tokenizer_kwargs_reach_the_multimodal_tokenizer(tiny_llava_dir, tmp_path):
    cfg = from_dict({"problem_type": MULTIMODAL, "llm_backbone": str(tiny_llava_dir),
                     "dataset": {"train_dataframe": "t.parquet"},
                     "tokenizer": {"tokenizer_kwargs": '{"model_max_length": 77}'}})
    problem = MultimodalProblem(cfg, RunLogs(tmp_path, echo=False), torch.device("cpu"))
    problem.build_model({})
    assert problem.tokenizer.model_max_length == 77
    assert problem.processor.tokenizer is problem.tokenizer  # the processor encodes with it too
    assert problem.image_token in problem.tokenizer.get_vocab()
    assert problem.tokenizer.pad_token_id is not None


def _sample(prompt: int, answer: int) -> dict:
    ids = list(range(1, prompt + answer + 1))
    return {"input_ids": ids, "labels": [IGNORE_INDEX] * prompt + ids[prompt:], "prompt_ids": ids[:prompt]}


def test_a_quantile_pads_to_its_length_and_cuts_answers_not_prompts():
    samples = [_sample(4, 2), _sample(4, 4), _sample(4, 20)]  # lengths 6, 8, 24
    batch = batching.collate_padded(samples, pad_id=0, side="left", quantile=0.5, max_length=64, keep="start",
                                    min_length=max(len(s["prompt_ids"]) for s in samples) + 1)
    assert batch["input_ids"].shape == (3, 8)  # the median length, not the longest
    assert batch["input_ids"][2].tolist() == list(range(1, 9))  # the long one keeps its start (the prompt)
    assert batch["labels"][2].tolist()[:4] == [IGNORE_INDEX] * 4


def test_a_prompt_longer_than_the_quantile_length_stays_whole():
    samples = [_sample(2, 1), _sample(2, 1), _sample(12, 3)]
    batch = batching.collate_padded(samples, pad_id=0, side="right", quantile=0.5, max_length=64, keep="start",
                                    min_length=13)
    assert batch["input_ids"].shape == (3, 13)
    assert batch["input_ids"][2].tolist()[:12] == list(range(1, 13))


def test_quantile_zero_pads_every_batch_to_max_length():
    batch = batching.collate_padded([_sample(3, 2)], pad_id=0, side="left", quantile=0.0, max_length=16,
                                    keep="start", min_length=4)
    assert batch["input_ids"].shape == (1, 16) and batch["attention_mask"].sum() == 5


def test_causal_lm_with_packing_says_padding_quantile_has_no_effect(tiny_llama_dir, tmp_path):
    from training.problems.causal_lm import CausalLMProblem

    cfg = from_dict({"llm_backbone": str(tiny_llama_dir), "dataset": {"train_dataframe": "t.csv"},
                     "tokenizer": {"padding_quantile": 0.5}, "training": {"batch_size": 8}})
    logs = RunLogs(tmp_path, echo=False)
    problem = CausalLMProblem(cfg, logs, torch.device("cpu"))
    problem.build_model({"attn_implementation": "sdpa"})
    logs.close()
    assert problem.packing
    assert "padding_quantile 0.5 has no effect: nothing is padded" in (tmp_path / "train.log").read_text()
