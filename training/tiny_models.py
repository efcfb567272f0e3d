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


def tiny_llama_config(tokenizer, hidden_size: int = 64, layers: int = 2, **extra):
    """The small Llama shape every tiny text model here shares (4 heads, 2 KV heads, 1024 positions)."""
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
                       num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=1024, bos_token_id=tokenizer.bos_token_id,
                       eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                       tie_word_embeddings=False, **extra)


def build_llama(out_dir: str | Path, hidden_size: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """A random-init Llama causal LM (~0.1M params) with its tokenizer, saved to ``out_dir``."""
    import torch
    from transformers import LlamaForCausalLM

    out_dir = Path(out_dir)
    tokenizer = build_tokenizer(out_dir)
    torch.manual_seed(seed)
    LlamaForCausalLM(tiny_llama_config(tokenizer, hidden_size, layers)).save_pretrained(str(out_dir))
    return out_dir


def build_vit(out_dir: str | Path, image_size: int = 32, num_labels: int = 2, seed: int = 0) -> Path:
    """A random-init 2-layer ViT image classifier (~30k params) with its image processor."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    out_dir = Path(out_dir)
    torch.manual_seed(seed)
    config = ViTConfig(image_size=image_size, patch_size=8, hidden_size=32, num_hidden_layers=2,
                       num_attention_heads=2, intermediate_size=64, num_labels=num_labels)
    ViTForImageClassification(config).save_pretrained(str(out_dir))
    ViTImageProcessor(size={"height": image_size, "width": image_size}).save_pretrained(str(out_dir))
    return out_dir


def build_detr(out_dir: str | Path, image_size: int = 64, num_labels: int = 2, seed: int = 0) -> Path:
    """A random-init DETR (~0.1M params) on a 3-stage ResNet, no timm and no pretrained download."""
    import torch
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, ResNetConfig

    out_dir = Path(out_dir)
    torch.manual_seed(seed)
    backbone = ResNetConfig(embedding_size=16, hidden_sizes=[16, 32, 64], depths=[1, 1, 1], layer_type="basic",
                            out_features=["stage3"])
    config = DetrConfig(backbone_config=backbone, d_model=32, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
                        decoder_ffn_dim=64, num_queries=10, num_labels=num_labels)
    DetrForObjectDetection(config).save_pretrained(str(out_dir))
    DetrImageProcessor(size={"shortest_edge": image_size, "longest_edge": image_size}).save_pretrained(str(out_dir))
    return out_dir


def build_llava(out_dir: str | Path, image_size: int = 32, seed: int = 0) -> Path:
    """A random-init Llava (CLIP vision tower + tiny Llama, ~0.15M params) with an ``<image>`` token
    and a LlavaProcessor, reloadable through AutoModelForImageTextToText / AutoProcessor."""
    import torch
    from transformers import (
        CLIPImageProcessor, CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    out_dir = Path(out_dir)
    # Whole-word tokens for the colour VQA demo keep its answers short enough to learn in seconds.
    tokenizer = build_tokenizer(out_dir, extra_text=["What colour is the square?", "red", "green", "blue"] * 50)
    tokenizer.add_tokens(["<image>"], special_tokens=True)
    patch_size = 8
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": image_size},
                                           crop_size={"height": image_size, "width": image_size}),
        tokenizer=tokenizer, patch_size=patch_size, vision_feature_select_strategy="default",
        num_additional_image_tokens=1)
    torch.manual_seed(seed)
    vision = CLIPVisionConfig(image_size=image_size, patch_size=patch_size, hidden_size=32, intermediate_size=64,
                              num_hidden_layers=2, num_attention_heads=2, projection_dim=32)
    text = tiny_llama_config(tokenizer)
    config = LlavaConfig(vision_config=vision, text_config=text,
                         image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
                         image_seq_length=(image_size // patch_size) ** 2, vision_feature_layer=-1)
    LlavaForConditionalGeneration(config).save_pretrained(str(out_dir))
    processor.save_pretrained(str(out_dir))
    return out_dir


def build_llama_classifier(out_dir: str | Path, num_labels: int = 2, hidden_size: int = 64, seed: int = 0) -> Path:
    """A random-init Llama sequence classifier (score head on the last token) with its tokenizer."""
    import torch
    from transformers import LlamaForSequenceClassification

    out_dir = Path(out_dir)
    tokenizer = build_tokenizer(out_dir)
    torch.manual_seed(seed)
    config = tiny_llama_config(tokenizer, hidden_size, num_labels=num_labels)
    LlamaForSequenceClassification(config).save_pretrained(str(out_dir))
    return out_dir


BUILDERS = {"llama": build_llama, "vit": build_vit, "detr": build_detr, "llava": build_llava,
            "llama_classifier": build_llama_classifier}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir")
    parser.add_argument("--kind", choices=sorted(BUILDERS), default="llama")
    args = parser.parse_args(argv)
    path = BUILDERS[args.kind](args.out_dir)
    print(f"wrote a tiny {args.kind} model to {path}")


if __name__ == "__main__":
    main()
