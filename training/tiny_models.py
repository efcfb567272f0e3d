"""Tiny random-init models and tokenizers, built locally and saved for ``from_pretrained``.

Tests, benchmarks and offline users need a real model folder without a hub:
``python -m training.tiny_models OUT_DIR [--kind llama]`` writes one in seconds.
"""
from __future__ import annotations

import argparse
import string
from pathlib import Path

SPECIAL_TOKENS = ["<|endoftext|>", "<unk>"]

_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "What is the capital of France? Paris is the capital of France.",
    "Translate to French: hello -> bonjour. Answer the question briefly.",
    "<|system|> <|prompt|> <|answer|> user assistant system",
    string.ascii_letters + string.digits + string.punctuation,
]


def build_tokenizer(out_dir: str | Path, vocab_size: int = 400, extra_text: list[str] | None = None):
    """Train a byte-level BPE tokenizer on a small corpus and save it as a fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 20 + list(extra_text or []), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        unk_token="<unk>",
        model_max_length=1024,
    )
    fast.save_pretrained(str(out_dir))
    return fast


def build_llama(out_dir: str | Path, hidden_size: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """A random-init Llama causal LM (~0.1M params) with its tokenizer, saved to ``out_dir``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out_dir = Path(out_dir)
    tokenizer = build_tokenizer(out_dir)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    LlamaForCausalLM(config).save_pretrained(str(out_dir))
    return out_dir


BUILDERS = {"llama": build_llama}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir")
    parser.add_argument("--kind", choices=sorted(BUILDERS), default="llama")
    args = parser.parse_args(argv)
    path = BUILDERS[args.kind](args.out_dir)
    print(f"wrote a tiny {args.kind} model to {path}")


if __name__ == "__main__":
    main()
