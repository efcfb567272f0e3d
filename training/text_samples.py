"""Rows to chat-formatted, tokenized prompt/answer samples (causal LM; reusable by multimodal).

A sample is a prompt history (``[{role, content}, ...]``) and the answer the model
must learn. The chat template renders both; only answer tokens carry labels.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from studio.config import ExperimentConfig
from studio.config.templates import DEFAULT_CHAT_TEMPLATE
from training.data import row_numbers
from training.errors import DatasetError, RunError

IGNORE_INDEX = -100
OUTPUT_JOIN = "\n"  # several output columns become one answer, one column per line


@dataclass
class TextSample:
    messages: list[dict[str, str]]  # the prompt: system/user/assistant turns before the answer
    answer: str
    row: int  # the source row's number in the user's table, from 1 (several samples per row when unrolling)
    position: int = 0  # the source row's position in its split


def output_columns(cfg: ExperimentConfig) -> list[str]:
    out = cfg.dataset.output_column
    if out is None:
        return []
    return [out] if isinstance(out, str) else list(out)


def conversation_column(cfg: ExperimentConfig, columns) -> str:
    """Unrolling reads input_column, or a ``messages`` column when input_column is absent."""
    if cfg.dataset.input_column in columns:
        return cfg.dataset.input_column
    if "messages" in columns:
        return "messages"
    return cfg.dataset.input_column  # reported missing by the column check


def required_text_columns(cfg: ExperimentConfig, columns=()) -> list[str]:
    ds = cfg.dataset
    if ds.unroll_conversations:
        cols = [conversation_column(cfg, columns)]
    else:
        cols = [ds.input_column] + output_columns(cfg)
    if ds.system_column:
        cols.append(ds.system_column)
    return cols


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


def parse_conversation(value: Any, where: str, column: str) -> list[dict[str, str]]:
    """The messages of one cell; ``where`` names its row in errors ("train row 5")."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}, column {column!r}: not a JSON list of messages ({exc.msg})") from None
    if hasattr(value, "tolist"):  # numpy arrays from parquet
        value = value.tolist()
    if not isinstance(value, list):
        raise DatasetError(f"{where}, column {column!r}: expected a list of {{role, content}} messages")
    messages = []
    for turn in value:
        if not isinstance(turn, dict) or "role" not in turn or "content" not in turn:
            raise DatasetError(f"{where}, column {column!r}: every message needs 'role' and 'content'")
        role = str(turn["role"])
        if role not in ("system", "user", "assistant"):
            raise DatasetError(f"{where}, column {column!r}: unknown role {role!r} "
                               "(use system, user or assistant)")
        messages.append({"role": role, "content": _cell_text(turn["content"])})
    return messages


def rows_to_samples(frame: pd.DataFrame, cfg: ExperimentConfig, split: str = "") -> list[TextSample]:
    """The samples of one split (``frame`` from ``training.data.load_splits``, indexed by row number)."""
    ds = cfg.dataset
    samples: list[TextSample] = []
    outputs = output_columns(cfg)
    conv_col = conversation_column(cfg, frame.columns)
    for position, (row, record) in enumerate(zip(row_numbers(frame), frame.to_dict("records"))):
        system = _cell_text(record.get(ds.system_column)) if ds.system_column else ""
        if ds.unroll_conversations:
            history = parse_conversation(record[conv_col], f"{split} row {row}".strip(), conv_col)
            if system and not any(m["role"] == "system" for m in history):
                history = [{"role": "system", "content": system}] + history
            for i, turn in enumerate(history):
                if turn["role"] == "assistant":
                    prompt = history[:i] if ds.unroll_with_history else _system_and_user_turn(history[:i])
                    if any(m["role"] == "user" for m in prompt):
                        samples.append(TextSample(prompt, turn["content"], row, position))
        else:
            messages = ([{"role": "system", "content": system}] if system else [])
            messages.append({"role": "user", "content": _cell_text(record[ds.input_column])})
            answer = OUTPUT_JOIN.join(_cell_text(record[c]) for c in outputs)
            samples.append(TextSample(messages, answer, row, position))
    if not samples:
        raise DatasetError(f"{conv_col!r}: no assistant turn after a user turn in any conversation"
                           if ds.unroll_conversations else "no rows to train on")
    return samples


def _system_and_user_turn(before: list[dict[str, str]]) -> list[dict[str, str]]:
    """The spec's unrolled prompt: the conversation's system prompt and the user turn(s) since the
    previous answer (one user turn, unless the user wrote several messages in a row)."""
    system = [m for m in before if m["role"] == "system"][:1]
    last_answer = max((i for i, m in enumerate(before) if m["role"] == "assistant"), default=-1)
    return system + [m for m in before[last_answer + 1:] if m["role"] == "user"]


def preference_samples(frame: pd.DataFrame, cfg: ExperimentConfig, split: str = "") -> list[tuple[TextSample, TextSample]]:
    """(chosen, rejected) samples of one split: the same prompt, the two answers of each row.

    With unroll_conversations the input column holds the conversation so far ([{role, content}, ...])
    and both answers continue it.
    """
    ds = cfg.dataset
    outputs = output_columns(cfg)
    pairs: list[tuple[TextSample, TextSample]] = []
    for position, (row, record) in enumerate(zip(row_numbers(frame), frame.to_dict("records"))):
        system = _cell_text(record.get(ds.system_column)) if ds.system_column else ""
        if ds.unroll_conversations:
            messages = parse_conversation(record[ds.input_column], f"{split} row {row}".strip(), ds.input_column)
        else:
            messages = [{"role": "user", "content": _cell_text(record[ds.input_column])}]
        if system and not any(m["role"] == "system" for m in messages):
            messages = [{"role": "system", "content": system}] + messages
        chosen = OUTPUT_JOIN.join(_cell_text(record[c]) for c in outputs)
        rejected = _cell_text(record[ds.rejected_output_column])
        pairs.append((TextSample(messages, chosen, row, position), TextSample(messages, rejected, row, position)))
    if not pairs:
        raise DatasetError("no rows to train on")
    return pairs


def set_chat_template(tokenizer, cfg: ExperimentConfig) -> str:
    """Install the configured template on the tokenizer; returns a description for train.log."""
    choice = cfg.tokenizer.chat_template
    if choice is None:
        tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
        return "Studio default chat template"
    if choice == "model":
        if not getattr(tokenizer, "chat_template", None):
            raise RunError(f"tokenizer.chat_template: 'model' but the tokenizer of {cfg.llm_backbone} has no "
                           "chat template; leave it null for the Studio default or give a Jinja2 template")
        return "the model's own chat template"
    tokenizer.chat_template = choice
    return "custom chat template"


def render(tokenizer, messages: list[dict[str, str]], answer: str) -> tuple[str, str]:
    """(prompt text ending with the generation prompt, answer text including its end-of-turn marker)."""
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages + [{"role": "assistant", "content": answer}], tokenize=False)
    eos = tokenizer.eos_token or ""
    # Templates that render the last turn differently: append the answer ourselves.
    answer_text = full[len(prompt):] if full.startswith(prompt) else answer
    if eos and eos not in answer_text:
        answer_text += eos  # without an end marker to learn, generation would never stop
    return prompt, answer_text


def encode(tokenizer, sample: TextSample, max_length: int) -> dict[str, list[int]]:
    """Token ids with labels on answer tokens only, truncated to max_length keeping the answer.

    The prompt loses tokens from its left (oldest history first); only an answer longer than
    max_length - 1 is cut, from its right.
    """
    prompt_text, answer_text = render(tokenizer, sample.messages, sample.answer)
    prompt = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    answer = tokenizer(answer_text, add_special_tokens=False)["input_ids"]
    if len(prompt) + len(answer) > max_length:
        answer = answer[:max_length - 1]
        keep = max_length - len(answer)
        prompt = prompt[-keep:] if keep > 0 else []
    return {
        "input_ids": prompt + answer,
        "labels": [IGNORE_INDEX] * len(prompt) + answer,
        "prompt_ids": prompt,
    }


def load_tokenizer(cfg: ExperimentConfig):
    """The backbone's tokenizer with tokenizer_kwargs, a padding token and the configured padding side."""
    from transformers import AutoTokenizer

    from training.modeling import json_kwargs

    tokenizer = AutoTokenizer.from_pretrained(
        cfg.llm_backbone, revision=cfg.environment.huggingface_branch,
        trust_remote_code=cfg.environment.trust_remote_code, **json_kwargs(cfg.tokenizer.tokenizer_kwargs))
    ensure_pad_token(tokenizer)
    tokenizer.padding_side = cfg.tokenizer.padding_side
    return tokenizer


def ensure_pad_token(tokenizer) -> None:
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise RunError("the tokenizer has neither a padding nor an end-of-sequence token; set one in "
                           "tokenizer.tokenizer_kwargs, e.g. {\"pad_token\": \"<pad>\"}")
        tokenizer.pad_token = tokenizer.eos_token
