"""Which other backbone to try: a larger one when the run under-fits and memory allows, a smaller
one when it overfits or ran out of memory; only registered models that fit the problem type and
that this machine can load.

A model's size is read from its config.json when that is on this machine (layers, hidden size,
vocabulary), else from its name ("…-500m-…", "…-1.7B"); a model of unknown size is never
proposed as larger or smaller. The memory a training run needs is a rough rule of thumb per
training mode (weights in 16 bits plus activations for LoRA, weights, gradients and Adam state
in 32 bits for full fine-tuning), compared with the smallest GPU (or the machine's RAM on CPU).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Callable

from studio.config import ExperimentConfig

from .model_availability import check_model, local_config
from .model_registry import RegisteredModel, RegistryError, load_registry
from .recommendation import Recommendation

BYTES_PER_PARAMETER = {"lora": 3.0, "qlora": 1.2, "full": 16.0}
_SIZE_IN_NAME = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*([mb])(?![a-z])", re.I)


@dataclass(frozen=True)
class Backbone:
    id: str
    parameters: float  # estimated


@dataclass
class BackboneOptions:
    current: Backbone | None
    larger: Backbone | None
    smaller: Backbone | None
    memory_bytes: float | None
    note: str  # what was found, for the evidence

    def candidates(self, want: str, config: ExperimentConfig, because: str) -> list[Recommendation]:
        """``want`` "larger" or "smaller": a backbone switch, or nothing when there is none to offer."""
        choice = self.larger if want == "larger" else self.smaller
        if choice is None or self.current is None:
            return []
        why = ("it under-fits: a larger model can fit what this one cannot" if want == "larger" else
               f"{because}: a smaller model needs less memory and has less room to memorise")
        memory = f" and fits in {_gib(self.memory_bytes)} of memory" if self.memory_bytes else ""
        return [Recommendation(
            f"Try a {want} backbone: {choice.id}",
            f"This run {why}. {choice.id} (about {_count(choice.parameters)} parameters, against "
            f"{_count(self.current.parameters)} for {self.current.id}) fits {config.problem_type}, loads on this "
            f"machine{memory}.", {"llm_backbone": choice.id}, [self.note], f"{want}-backbone")]


def backbone_options(config: ExperimentConfig, models: list[RegisteredModel], memory_bytes: float | None,
                     loadable: Callable[[str], bool] | None = None) -> BackboneOptions:
    """The nearest larger and smaller registered backbones for ``config`` (pure but for ``loadable``)."""
    loadable = loadable or (lambda model_id: check_model(model_id).loadable)
    size = model_parameters(config.llm_backbone)
    current = Backbone(config.llm_backbone, size) if size else None
    if current is None:
        return BackboneOptions(None, None, None, memory_bytes,
                               f"registry: the size of {config.llm_backbone} is unknown, so no larger or smaller "
                               "backbone is proposed")
    per_parameter = BYTES_PER_PARAMETER.get(config.architecture.training_mode, BYTES_PER_PARAMETER["full"])
    sized = []
    for model in models:
        if model.id == config.llm_backbone or not model.fits(config.problem_type):
            continue
        parameters = model_parameters(model.id)
        if parameters:
            sized.append(Backbone(model.id, parameters))
    bigger = sorted((b for b in sized if b.parameters > current.parameters), key=lambda b: b.parameters)
    if memory_bytes:
        bigger = [b for b in bigger if b.parameters * per_parameter <= memory_bytes]
    smaller = sorted((b for b in sized if b.parameters < current.parameters), key=lambda b: -b.parameters)
    larger = next((b for b in bigger if loadable(b.id)), None)
    smaller_choice = next((b for b in smaller if loadable(b.id)), None)
    note = (f"registry: {len(sized)} other sized backbones for {config.problem_type}; {current.id} has about "
            f"{_count(current.parameters)} parameters"
            + (f"; {_gib(memory_bytes)} of memory on this machine" if memory_bytes else ""))
    return BackboneOptions(current, larger, smaller_choice, memory_bytes, note)


def registry_options(home, config: ExperimentConfig) -> BackboneOptions:
    try:
        models = load_registry(home)
    except RegistryError as exc:
        return BackboneOptions(None, None, None, None, f"registry: unreadable ({exc})")
    return backbone_options(config, models, machine_memory_bytes())


def model_parameters(model_id: str) -> float | None:
    """An estimate of the model's parameter count: its config.json on this machine, else its name."""
    path = local_config(model_id)
    if path is not None:
        try:
            found = _from_config(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            found = None
        if found:
            return found
    match = None
    for match in _SIZE_IN_NAME.finditer(model_id.rstrip("/").split("/")[-1]):
        pass
    if match is None:
        return None
    number, unit = float(match.group(1)), match.group(2).lower()
    return number * (1e9 if unit == "b" else 1e6)


def _from_config(data: dict) -> float | None:
    text = data.get("text_config") if isinstance(data.get("text_config"), dict) else data
    hidden = text.get("hidden_size") or text.get("d_model") or text.get("n_embd")
    layers = text.get("num_hidden_layers") or text.get("n_layer") or text.get("num_layers")
    if not isinstance(hidden, int) or not isinstance(layers, int):
        return None
    intermediate = text.get("intermediate_size") or 4 * hidden
    vocab = text.get("vocab_size") or 0
    # attention (4 h²) + MLP (3 h·i for gated MLPs) per layer, plus the embeddings.
    return float(layers * (4 * hidden * hidden + 3 * hidden * intermediate) + vocab * hidden)


def machine_memory_bytes() -> float | None:
    """The smallest GPU's memory, or this machine's RAM when it has no GPU."""
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi:
        try:
            result = subprocess.run([nvidia_smi, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                                    capture_output=True, text=True, timeout=10, check=False)
            smallest = smallest_gpu_bytes(result.stdout) if result.returncode == 0 else None
            if smallest:
                return smallest
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        import psutil

        return float(psutil.virtual_memory().total)
    except Exception:  # psutil missing or the platform does not say
        return None


def smallest_gpu_bytes(memory_total_mib: str) -> float | None:
    """The smallest of the GPUs' memory from ``nvidia-smi --query-gpu=memory.total`` (MiB, one a line)."""
    sizes = []
    for line in memory_total_mib.splitlines():
        try:
            sizes.append(float(line.strip().split()[0]) * 2**20)
        except (IndexError, ValueError):  # a blank line, "[N/A]"
            continue
    return min(sizes) if sizes else None


def _count(parameters: float) -> str:
    return f"{parameters / 1e9:.3g}B" if parameters >= 1e9 else f"{parameters / 1e6:.3g}M"


def _gib(size: float | None) -> str:
    return f"{(size or 0) / 2**30:.0f} GiB"
