"""The parallel wrapper around the trainable model: none, DDP, or FSDP2 (optionally CPU-offloaded).

``build_parallel`` is the one place that decides; the recipe's loop only calls the chosen
strategy's methods (wrap, gradient sync, checkpoint state, the plain model to save), so
single-process, DDP and FSDP runs share every other line.

- One process: the model as it is.
- ``use_fsdp: false`` under torchrun: ``DistributedDataParallel``. Every rank holds the whole
  model, so checkpoints are the single-process ones taken from rank 0's replica.
- ``use_fsdp: true`` under torchrun: ``fully_shard`` on every decoder layer (the model's
  ``_no_split_modules``), then on the root; ``MixedPrecisionPolicy`` with the autocast dtype,
  ``CPUOffloadPolicy`` with ``use_fsdp_cpu_offload``. Checkpoints and the saved model are
  gathered into full state dicts on rank 0 (torch.distributed.checkpoint.state_dict), so the
  run folder is the same as a single-process run's.
"""
from __future__ import annotations

import contextlib
from typing import Callable

import torch

from studio.config import ExperimentConfig
from training.distributed import Ranks
from training.errors import RunError


class SingleProcess:
    name = "single process"

    def __init__(self, ranks: Ranks):
        self.ranks = ranks

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        return model

    def module(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model under the wrapper (parameter names and attributes as transformers/peft made them)."""
        return model

    def gradient_sync(self, model: torch.nn.Module, sync: bool):
        """Context for one micro-batch's backward; sync=False on all but the last of an accumulation group."""
        return contextlib.nullcontext()

    def training_state(self, model: torch.nn.Module, optimizer) -> tuple[dict, dict]:
        """(trainable weights by name, optimizer state) on CPU, complete on rank 0."""
        module = self.module(model)
        trainable = {n: p.detach().cpu() for n, p in module.named_parameters() if p.requires_grad}
        return trainable, optimizer.state_dict()

    def load_training_state(self, model: torch.nn.Module, optimizer, trainable: dict, optimizer_state: dict) -> None:
        params = dict(self.module(model).named_parameters())
        with torch.no_grad():
            for name, value in trainable.items():
                params[name].copy_(value.to(params[name].device))
        optimizer.load_state_dict(optimizer_state)

    def trainable_names(self, model: torch.nn.Module) -> set[str]:
        return {n for n, p in self.module(model).named_parameters() if p.requires_grad}

    def plain_model(self, model: torch.nn.Module, rebuild: Callable[[], torch.nn.Module]) -> torch.nn.Module | None:
        """A plain (unwrapped, unsharded) trained model on rank 0 for save_pretrained; None on other ranks."""
        return self.module(model) if self.ranks.is_main else None


class _DDP(torch.nn.parallel.DistributedDataParallel):
    """DDP that lets the problem types read the wrapped model's attributes (config, generate, ...)."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


def _ddp_parameters() -> set[str]:
    import inspect

    return set(inspect.signature(torch.nn.parallel.DistributedDataParallel.__init__).parameters)


class DataParallel(SingleProcess):
    def __init__(self, ranks: Ranks, find_unused_parameters: bool):
        super().__init__(ranks)
        self.find_unused_parameters = find_unused_parameters
        self.name = (f"DDP over {ranks.world_size} processes "
                     f"(find_unused_parameters {str(find_unused_parameters).lower()})")

    def wrap(self, model):
        device_ids = [self.ranks.device.index] if self.ranks.device.type == "cuda" else None
        # No buffer sync in forward: the buffers (rotary tables) are identical on every rank, and
        # without it an evaluation forward needs no collective. (torch 2.13 renamed the flag.)
        sync_off = ({"forward_sync_buffers": False} if "forward_sync_buffers" in _ddp_parameters()
                    else {"broadcast_buffers": False})
        return _DDP(model, device_ids=device_ids, find_unused_parameters=self.find_unused_parameters, **sync_off)

    def module(self, model):
        return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model

    def gradient_sync(self, model, sync):
        return contextlib.nullcontext() if sync else model.no_sync()


class FullyShardedDataParallel(SingleProcess):
    def __init__(self, ranks: Ranks, *, cpu_offload: bool, param_dtype: torch.dtype | None):
        super().__init__(ranks)
        self.cpu_offload = cpu_offload
        self.param_dtype = param_dtype
        self.name = (f"FSDP2 over {ranks.world_size} processes (fully_shard per decoder layer, then the root"
                     + (f", parameters gathered in {str(param_dtype).removeprefix('torch.')}" if param_dtype else "")
                     + (", CPU offload of parameters, gradients and optimizer state" if cpu_offload else "") + ")")

    def wrap(self, model):
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, fully_shard

        options: dict = {"mesh": init_device_mesh(self.ranks.device.type, (self.ranks.world_size,))}
        if self.param_dtype is not None:
            options["mp_policy"] = MixedPrecisionPolicy(param_dtype=self.param_dtype, reduce_dtype=torch.float32)
        if self.cpu_offload:
            options["offload_policy"] = CPUOffloadPolicy(pin_memory=self.ranks.device.type == "cuda")
        layer_classes = decoder_layer_classes(model)
        self.layers = [m for m in model.modules() if type(m).__name__ in layer_classes]
        for layer in self.layers:
            fully_shard(layer, **options)
        fully_shard(model, **options)
        for sub in model.modules():
            if hasattr(sub, "generate"):
                # transformers' generate then keeps every rank stepping until all are done
                # (synced_gpus), as the sharded forward needs every rank.
                sub._is_fsdp_managed_module = True
        return model

    def training_state(self, model, optimizer):
        from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

        options = _full_options(ignore_frozen_params=True)
        return (get_model_state_dict(model, options=options),
                get_optimizer_state_dict(model, optimizer, options=options))

    def load_training_state(self, model, optimizer, trainable, optimizer_state):
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions, set_model_state_dict, set_optimizer_state_dict,
        )

        # Every rank read the same full state from the run folder; each keeps its shard of it.
        set_model_state_dict(model, trainable, options=StateDictOptions(full_state_dict=True, strict=False))
        set_optimizer_state_dict(model, optimizer, optimizer_state, options=StateDictOptions(full_state_dict=True))

    def plain_model(self, model, rebuild):
        from torch.distributed.checkpoint.state_dict import get_model_state_dict

        state = get_model_state_dict(model, options=_full_options())
        if not self.ranks.is_main:
            return None
        plain = rebuild()
        plain.load_state_dict(state)
        return plain


def _full_options(**extra):
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True, **extra)


def decoder_layer_classes(model: torch.nn.Module) -> set[str]:
    """Class names transformers keeps whole (``_no_split_modules``): the decoder/encoder layers."""
    names: set[str] = set()
    for sub in model.modules():
        names.update(getattr(sub, "_no_split_modules", None) or ())
    return names


def build_parallel(cfg: ExperimentConfig, ranks: Ranks, autocast_dtype: torch.dtype | None, logs) -> SingleProcess:
    """The strategy this run trains with; refusals are RunErrors naming the setting, notes go to system.log."""
    env = cfg.environment
    if not ranks.distributed:
        if env.use_fsdp:
            logs.warning("use_fsdp ignored: this run has one process; FSDP shards the model across the "
                         "processes torchrun starts (one per GPU)")
        return SingleProcess(ranks)
    if not env.use_fsdp:
        strategy: SingleProcess = DataParallel(ranks, env.find_unused_parameters)
    else:
        if cfg.architecture.training_mode == "qlora":
            raise RunError("environment.use_fsdp: QLoRA with FSDP is refused: bitsandbytes' 4-bit weights "
                           "(Params4bit) are not plain tensors fully_shard can split into DTensor shards; "
                           "use use_fsdp false (DDP, which supports QLoRA) or training_mode lora")
        strategy = FullyShardedDataParallel(ranks, cpu_offload=env.use_fsdp_cpu_offload, param_dtype=autocast_dtype)
    logs.system(f"parallel: {strategy.name}, backend {torch.distributed.get_backend()}")
    return strategy
