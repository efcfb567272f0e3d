"""Device, precision, model-loading arguments and the training mode (LoRA / QLoRA / full).

Shared by every problem type: a problem loads its model with ``load_kwargs`` and the
recipe wraps it with ``apply_training_mode``.
"""
from __future__ import annotations

import importlib.util
import json
import re
from typing import Any

import torch

from studio.config import ExperimentConfig
from training.errors import RunError

QLORA_NEEDS = "qlora needs bitsandbytes"


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def precision(cfg: ExperimentConfig, device: torch.device) -> tuple[torch.dtype | None, bool, str]:
    """(autocast dtype or None for fp32, whether a GradScaler is needed, a sentence for system.log)."""
    if not cfg.environment.mixed_precision:
        return None, False, "mixed precision off: training in fp32"
    if device.type != "cuda":
        return None, False, "mixed precision requested but there is no CUDA GPU: training in fp32 on CPU"
    if has_native_bf16(torch.cuda.get_device_capability(device)):
        return torch.bfloat16, False, "mixed precision: bf16 autocast"
    return torch.float16, True, "mixed precision: fp16 autocast with a gradient scaler (no bf16 on this GPU)"


def has_native_bf16(capability: tuple[int, int]) -> bool:
    """bf16 tensor cores start with Ampere (compute capability 8.0).

    ``torch.cuda.is_bf16_supported()`` also says yes on older GPUs that only emulate bf16,
    where it is slower than fp16 with a scaler.
    """
    return capability >= (8, 0)


def attention_implementation(cfg: ExperimentConfig, device: torch.device) -> str:
    choice = cfg.training.attention_implementation
    if choice != "auto":
        return choice
    if device.type == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def json_kwargs(text: str) -> dict[str, Any]:
    return json.loads(text or "{}")


def load_kwargs(cfg: ExperimentConfig, device: torch.device, *, quantize: bool = True) -> dict[str, Any]:
    """Keyword arguments for ``<AutoClass>.from_pretrained`` implied by the config.

    quantize=False gives the unquantized load used to merge a QLoRA adapter at the end.
    """
    kwargs: dict[str, Any] = {
        "revision": cfg.environment.huggingface_branch,
        "trust_remote_code": cfg.environment.trust_remote_code,
        "attn_implementation": attention_implementation(cfg, device),
        "dtype": torch.float32,
    }
    if quantize and cfg.architecture.training_mode == "qlora":
        kwargs["quantization_config"] = qlora_quantization_config(device)
        if device.type == "cuda":
            native = has_native_bf16(torch.cuda.get_device_capability(device))
            kwargs["dtype"] = torch.bfloat16 if native else torch.float16
    return kwargs


def qlora_quantization_config(device: torch.device):
    # Measured here: bitsandbytes >= 0.48 runs 4-bit forward and backward on CPU too (slowly),
    # so QLoRA needs only bitsandbytes; on CPU the compute dtype is fp32.
    if importlib.util.find_spec("bitsandbytes") is None:
        raise RunError(f"architecture.training_mode: {QLORA_NEEDS} (bitsandbytes is not installed); "
                       "use lora or full, or pip install bitsandbytes")
    from transformers import BitsAndBytesConfig

    if device.type == "cuda":
        compute = torch.bfloat16 if has_native_bf16(torch.cuda.get_device_capability(device)) else torch.float16
    else:
        compute = torch.float32
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute)


def backbone_config(cfg: ExperimentConfig):
    """AutoConfig of the backbone with backbone_kwargs and intermediate_dropout applied."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(
            cfg.llm_backbone, revision=cfg.environment.huggingface_branch,
            trust_remote_code=cfg.environment.trust_remote_code, **json_kwargs(cfg.architecture.backbone_kwargs))
    except (OSError, ValueError) as exc:
        raise RunError(f"llm_backbone: cannot load {cfg.llm_backbone!r}: {str(exc).splitlines()[0]}") from exc
    set_dropout(config, cfg.architecture.intermediate_dropout)
    return config


# The dropout a config may have between layers (hidden states, MLP/feed-forward activations):
# what intermediate_dropout sets. Attention and embedding dropout are other settings' business.
HIDDEN_DROPOUT_FIELDS = ("hidden_dropout", "hidden_dropout_prob", "resid_pdrop", "dropout", "activation_dropout",
                         "ffn_dropout", "mlp_dropout")
# MLP blocks of decoder layers (Llama, Mistral, Qwen, Gemma: ``model.layers.N.mlp``).
_MLP_NAME = re.compile(r"(^|\.)(mlp|feed_forward|ffn)$")


def set_dropout(config, p: float) -> list[str]:
    """Set the hidden/MLP dropout fields the config (and its text/vision sub-configs) has to ``p``.

    0.0 (the default) adds no dropout and leaves the model's own values (DETR's 0.1, say); to
    turn those off, set them through backbone_kwargs.
    """
    touched = []
    if not p:
        return touched
    for sub in [config] + [getattr(config, n) for n in ("text_config", "vision_config") if hasattr(config, n)]:
        for name in HIDDEN_DROPOUT_FIELDS:
            if sub is not None and hasattr(sub, name) and isinstance(getattr(sub, name), (int, float)) \
                    and not isinstance(getattr(sub, name), bool):
                setattr(sub, name, p)
                touched.append(name)
    return touched


def add_mlp_dropout(model: torch.nn.Module, p: float) -> int:
    """Dropout on the output of each MLP block, for models whose config has no hidden dropout field
    (the Llama family has only attention_dropout). Returns how many blocks got it (0 when p is 0
    or the config already has such a field, which set_dropout set)."""
    config = getattr(model, "config", None)
    subs = [config] + [getattr(config, n, None) for n in ("text_config", "vision_config")]
    if not p or any(sub is not None and any(hasattr(sub, f) for f in HIDDEN_DROPOUT_FIELDS) for sub in subs):
        return 0

    def dropout_hook(module, _inputs, output):
        if isinstance(output, torch.Tensor):
            return torch.nn.functional.dropout(output, p, training=module.training)
        return output

    blocks = [module for name, module in model.named_modules() if _MLP_NAME.search(name)]
    for module in blocks:
        module.register_forward_hook(dropout_hook)
    return len(blocks)


def max_positions(config) -> int | None:
    for sub in (config, getattr(config, "text_config", None)):
        value = getattr(sub, "max_position_embeddings", None) if sub is not None else None
        if isinstance(value, int) and value > 0:
            return value
    return None


def lora_target_modules(model: torch.nn.Module, cfg: ExperimentConfig, exclude: tuple[str, ...]) -> list[str]:
    """The configured targets, or every nn.Linear leaf name except the heads."""
    configured = [m.strip() for m in cfg.training.lora_target_modules.split(",") if m.strip()]
    if configured:
        return configured
    names = set()
    for full_name, module in model.named_modules():
        if _is_linear(module) and not any(part in exclude for part in full_name.split(".")):
            names.add(full_name.split(".")[-1])
    return sorted(names)


def _is_linear(module: torch.nn.Module) -> bool:
    if isinstance(module, torch.nn.Linear):
        return True
    return type(module).__name__ in {"Linear4bit", "Linear8bitLt"}


def apply_training_mode(model: torch.nn.Module, cfg: ExperimentConfig, *, task_type: str | None,
                        head_modules: tuple[str, ...], exclude: tuple[str, ...], logs) -> torch.nn.Module:
    """Wrap ``model`` for lora/qlora (peft) or leave it whole for full fine-tuning; log what trains."""
    arch, tr = cfg.architecture, cfg.training
    if arch.gradient_checkpointing and getattr(model, "supports_gradient_checkpointing", False):
        if hasattr(model, "activation_checkpointing_enable"):  # transformers 5 name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if hasattr(model.config, "use_cache"):
            model.config.use_cache = False
    if arch.training_mode == "full":
        model.train()
        logs.train(f"training mode full: {count_trainable(model):,} trainable parameters")
        return model
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if arch.training_mode == "qlora":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=arch.gradient_checkpointing)
    targets = lora_target_modules(model, cfg, exclude)
    if not targets:
        raise RunError("training.lora_target_modules: the model has no linear layers to adapt; name modules "
                       "explicitly or use training_mode full")
    lora = LoraConfig(r=tr.lora_rank, lora_alpha=tr.lora_alpha, lora_dropout=tr.lora_dropout,
                      target_modules=targets, task_type=task_type,
                      modules_to_save=list(head_modules) or None)
    try:
        model = get_peft_model(model, lora)
    except ValueError as exc:
        raise RunError(f"training.lora_target_modules: {exc}") from exc
    if arch.gradient_checkpointing and hasattr(model, "enable_input_require_grads"):
        # With frozen embeddings the checkpointed blocks would see inputs without grad.
        model.enable_input_require_grads()
    model.train()
    logs.train(f"training mode {arch.training_mode}: LoRA rank {tr.lora_rank}, alpha {tr.lora_alpha:g}, "
               f"dropout {tr.lora_dropout:g}, target modules {', '.join(targets)}"
               + (f", fully trained heads {', '.join(head_modules)}" if head_modules else ""))
    logs.train(f"trainable parameters: {count_trainable(model):,} of {count_all(model):,}")
    return model


def count_trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_all(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
