"""``environment.compile_model``: torch.compile on each decoder layer (regional compilation).

Compiling the repeated layer rather than the whole model compiles one graph that every layer
reuses (seconds, not minutes, for a 24-layer model), works under DDP and FSDP2 (the wrappers'
hooks stay outside the compiled regions) and keeps peft's and transformers' Python around it.
``dynamic=True`` because packed rows change length every step.
"""
from __future__ import annotations

import torch

from training.parallel import decoder_layer_classes


def compile_decoder_layers(model: torch.nn.Module) -> int:
    """Compile every decoder layer of ``model`` in place; returns how many were compiled."""
    classes = decoder_layer_classes(model)
    layers = [m for m in model.modules() if type(m).__name__ in classes]
    for layer in layers:
        layer.compile(dynamic=True)
    return len(layers)
