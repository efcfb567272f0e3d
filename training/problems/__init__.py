"""Problem types: everything the shared training loop does not know.

The recipe (``training/recipe.py``) owns the loop: optimizer, schedule, gradient
accumulation, clipping, evaluation cadence, checkpointing, logging. A problem type
owns what differs: which columns it reads, how it builds the model and turns rows
into batches, its loss, its evaluation (metrics + a predictions table) and how the
final model is saved. One module per type, registered in ``MODULES`` below.

Writing a new problem type
--------------------------
Subclass :class:`Problem` in ``training/problems/<name>.py`` and expose it as a
module-level ``PROBLEM = MyProblem``. The recipe calls, in this order::

    problem = PROBLEM(cfg, logs, device)
    problem.required_columns()                -> checked against the data (DatasetError)
    problem.max_position_embeddings()         -> for studio.config.resolve (None if n/a)
    problem.cfg = resolved_cfg                # after resolve(); read cfg only after this point
    problem.observe_data(train, validation)   # the loaded splits, before the model exists (labels,
                                              # class counts, data checks that should fail early)
    model = problem.build_model(load_kwargs)  -> base model, processor stored on self.processor
    # the recipe applies training_mode (lora/qlora/full) with problem.lora_task_type,
    # problem.head_modules (always fully trained and saved), problem.lora_exclude
    problem.build_datasets(train, validation) # the same SplitData objects observe_data saw
    problem.train_lengths()                   -> per-sample lengths for the length sampler (or None)
    problem.collate_train(samples)            -> a batch dict (tensors on CPU)
    problem.training_loss(model, batch)       -> scalar loss tensor (recipe moves batch to device)
    problem.evaluate(model, context)          -> Evaluation(loss, metrics, predictions)
    problem.save_model(model, out_dir)        -> full model + processor, loadable by from_pretrained

``model`` passed to the hooks is the trainable module (possibly a ``peft.PeftModel``).
Everything runs on ``self.device``; use ``self.autocast()`` around forward passes so
mixed precision is the same everywhere. Use ``self.logs.train(...)`` for user-facing
progress/metric lines and ``self.logs.system(...)`` for infrastructure notes/warnings.
Raise ``training.errors.DatasetError`` for data problems (it becomes the run's one-line
failure reason) and ``training.errors.RunError`` for anything else the user can fix.
"""
from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from studio.config.problem_types import (
    CAUSAL_LM, CLASSIFICATION_LM, DPO, IMAGE_CLASSIFICATION, MULTIMODAL, OBJECT_DETECTION,
)

if TYPE_CHECKING:  # keep ``import training.problems`` light: no torch at import time
    import pandas as pd
    import torch
    from studio.config import ExperimentConfig
    from training.run_folder import RunLogs

# The one map from problem type to the module implementing it.
MODULES: dict[str, str] = {
    CAUSAL_LM: "training.problems.causal_lm",
    DPO: "training.problems.dpo",
    CLASSIFICATION_LM: "training.problems.classification_lm",
    IMAGE_CLASSIFICATION: "training.problems.image_classification",
    MULTIMODAL: "training.problems.multimodal",
    OBJECT_DETECTION: "training.problems.object_detection",
}


@dataclass
class SplitData:
    """One split's rows plus the folder that relative paths in it (e.g. image files) resolve against."""

    frame: "pd.DataFrame"
    root: Path | None = None  # the dataset folder, or the data file's folder; None when unknown


@dataclass
class EvalContext:
    """What ``Problem.evaluate`` may need from the loop."""

    step: int
    epoch: float
    final: bool  # the last evaluation of the run: generate for every sample, build the full predictions table
    report: Callable[[float], None] = lambda fraction: None  # progress inside the evaluation, 0..1


@dataclass
class Evaluation:
    """The result of one pass over the validation data.

    loss: mean validation loss (the same reduction as training).
    metrics: {metric name exactly as in METRICS[problem_type]: value} for the metrics that succeeded.
    failed: {metric name: one-line reason} for selected metrics that could not be computed
        (the run goes on; the recipe writes the reasons to train.log).
    predictions: one row per validation sample; written to predictions.parquet. Text types use
        columns prompt, target, prediction plus one column per per-sample metric.
    """

    loss: float
    metrics: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    predictions: "pd.DataFrame | None" = None


class Problem:
    """Base class of a problem type. Override the hooks marked *must*; the rest have defaults."""

    #: peft TaskType name for LoRA ("CAUSAL_LM", "SEQ_CLS", ...); None = no task type.
    lora_task_type: str | None = None
    #: Module names trained in full and saved with the adapter (e.g. a new classification head).
    head_modules: tuple[str, ...] = ()
    #: Linear module names never wrapped by LoRA when lora_target_modules is empty.
    lora_exclude: tuple[str, ...] = ("lm_head", "score", "classifier", "class_labels_classifier", "bbox_predictor")

    def __init__(self, cfg: "ExperimentConfig", logs: "RunLogs", device: "torch.device"):
        self.cfg = cfg
        self.logs = logs
        self.device = device
        self.processor: Any = None  # tokenizer / image processor / processor; saved with the model
        self.autocast_dtype: "torch.dtype | None" = None  # set by the recipe from mixed_precision

    # ---- data ---------------------------------------------------------------------------
    def required_columns(self) -> list[str]:
        """*must*: columns every split needs; missing ones fail the run naming the column."""
        raise NotImplementedError

    def observe_data(self, train: SplitData, validation: SplitData) -> None:
        """See the loaded splits before ``build_model`` (e.g. to size a head from the labels).

        Called once, with the same objects ``build_datasets`` receives later. Default: nothing.
        """

    def build_datasets(self, train: SplitData, validation: SplitData) -> None:
        """*must*: prepare training and validation samples (self.train_dataset, self.validation_dataset)."""
        raise NotImplementedError

    def train_size(self) -> int:
        return len(self.train_dataset)

    def train_sample(self, index: int) -> Any:
        return self.train_dataset[index]

    def train_lengths(self) -> "list[int] | None":
        """Per-sample lengths for the length-based sampler; None = random batches."""
        return None

    def collate_train(self, samples: list[Any]) -> dict[str, Any]:
        """*must*: turn a list of training samples into a batch of CPU tensors."""
        raise NotImplementedError

    # ---- model --------------------------------------------------------------------------
    def max_position_embeddings(self) -> int | None:
        """The backbone's context length (caps tokenizer.max_length); None when not a text model."""
        return None

    def build_model(self, load_kwargs: dict[str, Any]) -> "torch.nn.Module":
        """*must*: load the base model with ``from_pretrained(..., **load_kwargs)`` and set self.processor.

        load_kwargs carries dtype, attn_implementation, quantization_config, revision,
        trust_remote_code as the recipe resolved them; drop what your model class rejects.
        """
        raise NotImplementedError

    def training_loss(self, model: "torch.nn.Module", batch: dict[str, Any]) -> "torch.Tensor":
        """*must*: the scalar loss of one (micro-)batch, already on self.device."""
        raise NotImplementedError

    # ---- evaluation ---------------------------------------------------------------------
    def evaluate(self, model: "torch.nn.Module", context: EvalContext) -> Evaluation:
        """*must*: loss, selected metrics (cfg.prediction.metrics) and the predictions table."""
        raise NotImplementedError

    # ---- saving -------------------------------------------------------------------------
    def save_model(self, model: "torch.nn.Module", out_dir: Path) -> None:
        """Save full (LoRA merged) weights and the processor so the Auto class reloads them."""
        merged = merged_model(model)
        if getattr(merged.config, "use_cache", None) is False:
            merged.config.use_cache = True  # training turned the cache off for gradient checkpointing
        merged.save_pretrained(str(out_dir), safe_serialization=True)
        if self.processor is not None:
            self.processor.save_pretrained(str(out_dir))

    # ---- shared helpers for subclasses ----------------------------------------------------
    def autocast(self):
        """Mixed precision context for forward passes (no-op in fp32)."""
        import torch

        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def inference_batch_size(self) -> int:
        return self.cfg.prediction.batch_size_inference or self.cfg.training.batch_size


def merged_model(model: "torch.nn.Module") -> "torch.nn.Module":
    """A plain transformers model: LoRA weights merged into a copy, the trained model untouched."""
    import copy

    try:
        from peft import PeftModel
    except ImportError:  # pragma: no cover - peft is a hard dependency
        return model
    if isinstance(model, PeftModel):
        return copy.deepcopy(model).merge_and_unload()
    return model


def problem_class(problem_type: str) -> type[Problem]:
    """The Problem subclass registered for ``problem_type`` (its module's ``PROBLEM``)."""
    if problem_type not in MODULES:
        raise KeyError(f"unknown problem type {problem_type!r}; known: {', '.join(MODULES)}")
    try:
        module = importlib.import_module(MODULES[problem_type])
    except ModuleNotFoundError as exc:
        if exc.name == MODULES[problem_type]:
            raise NotImplementedError(f"problem type {problem_type} is not implemented in this build") from None
        raise
    return module.PROBLEM
