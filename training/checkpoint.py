"""``checkpoint/last``: everything needed to continue a run after a crash or a stop.

Trainable weights only (the adapter and heads for LoRA, all weights for full), the
optimizer, the scheduler, the step, the number of processes and rank 0's RNG states (every rank
restores them: ranks are seeded alike). Under FSDP the weights and optimizer state are the full,
gathered ones, so the files are the same as a single-process run's. Written to a temp folder and
swapped in, so a kill mid-save leaves the previous checkpoint intact.
"""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from training.errors import RunError


def save_last(folder: Path, parallel, model: torch.nn.Module, optimizer, scheduler, scaler, step: int) -> None:
    """Called on every rank (FSDP gathers the state); only rank 0 writes."""
    trainable, optimizer_state = parallel.training_state(model, optimizer)
    if not parallel.ranks.is_main:
        return
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(trainable, tmp / "trainable.pt")
    torch.save(optimizer_state, tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    if scaler is not None:
        torch.save(scaler.state_dict(), tmp / "scaler.pt")
    rng = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save(rng, tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step, "world_size": parallel.ranks.world_size}))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _recover_interrupted_save(folder: Path) -> None:
    """A kill between save_last's two renames leaves only ``last.old``: put it back."""
    old = folder.with_name(folder.name + ".old")
    if not (folder / "state.json").exists() and (old / "state.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        old.rename(folder)


def load_last(folder: Path, parallel, model: torch.nn.Module, optimizer, scheduler, scaler) -> int:
    """Restore the state saved by ``save_last`` (on every rank); returns the optimizer step to continue from.

    A different number of processes is refused: the step counter and the data order of the
    epoch both depend on the global batch, so the run would not continue where it stopped.
    """
    folder = Path(folder)
    if parallel.ranks.is_main:
        _recover_interrupted_save(folder)
    parallel.ranks.barrier()
    if not (folder / "state.json").exists():
        raise RunError(f"--resume: no checkpoint in {folder}; the run never reached its first evaluation")
    state = json.loads((folder / "state.json").read_text())
    saved_world = int(state.get("world_size", 1))
    if saved_world != parallel.ranks.world_size:
        raise RunError(f"--resume: checkpoint/last was written by a run on {saved_world} process(es) and this one "
                       f"has {parallel.ranks.world_size}; resume with the same number of GPUs/processes "
                       "(the step count and data order depend on the global batch) or start a new run")
    saved = torch.load(folder / "trainable.pt", map_location="cpu")
    if set(saved) != parallel.trainable_names(model):
        raise RunError("--resume: the checkpoint does not match the model the config builds "
                       "(was training_mode or a LoRA setting changed?)")
    parallel.load_training_state(model, optimizer, saved, torch.load(folder / "optimizer.pt", map_location="cpu"))
    scheduler.load_state_dict(torch.load(folder / "scheduler.pt"))
    if scaler is not None and (folder / "scaler.pt").exists():
        scaler.load_state_dict(torch.load(folder / "scaler.pt"))
    rng = torch.load(folder / "rng.pt", weights_only=False)
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return int(state["step"])
