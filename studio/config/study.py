"""StudySettings: what an AutoML study optimises, what it searches, and how long it may run (trials,
wall-clock minutes, GPU hours).

The defaults of the search live here, once; the bounds of every searched value are the
training field's own (``TrainingSettings``): a range end the schema would refuse in a run is
refused here, naming ``search.<field>``, before any trial is asked for.
"""
from __future__ import annotations

from typing import Any, Literal, Optional, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .errors import ConfigError
from .fields import setting
from .sections import TrainingSettings

PRUNERS = ["median", "successive_halving", "none"]
DIRECTIONS = [None, "minimize", "maximize"]
# Searched training fields given as a [low, high] range; the others are lists of choices.
RANGES = {"learning_rate": True, "lora_dropout": False}  # field → sampled on a log scale
LORA_FIELDS = ("lora_rank", "lora_alpha", "lora_dropout")


class SearchSettings(BaseModel):
    """Each entry is one training setting to vary; an empty list keeps the base experiment's value."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    learning_rate: list[float] = setting(
        lambda: [1e-5, 1e-3], "Lowest and highest learning rate, sampled on a log scale.",
        label="Learning rate range (low, high)")
    epochs: list[float] = setting(lambda: [1, 2, 3], "Epoch counts to try.", label="Epochs to try")
    lora_rank: list[int] = setting(lambda: [4, 8, 16, 32], "LoRA ranks to try (LoRA/QLoRA runs only).",
                                   label="LoRA ranks to try")
    lora_alpha: list[float] = setting(list, "LoRA alphas to try (LoRA/QLoRA runs only).",
                                      label="LoRA alphas to try")
    lora_dropout: list[float] = setting(lambda: [0.0, 0.2], "Lowest and highest LoRA dropout.",
                                        label="LoRA dropout range (low, high)")
    batch_size: list[int] = setting(list, "Batch sizes to try.", label="Batch sizes to try")
    warmup_epochs: list[float] = setting(lambda: [0.0, 0.05, 0.1], "Warm-up lengths (epochs) to try.",
                                         label="Warm-up epochs to try")
    backbones: list[str] = setting(list, "Backbones from the model registry to try (empty = the base one).",
                                   label="Backbones to try")

    @model_validator(mode="after")
    def _inside_the_schema(self) -> "SearchSettings":
        errors = []
        for name in type(self).model_fields:
            values = getattr(self, name)
            if name == "backbones" or not values:
                continue
            if name in RANGES and (len(values) != 2 or values[0] > values[1]):
                errors.append(f"search.{name}: give two numbers, low then high (got {values})")
                continue
            if len(set(values)) != len(values):
                errors.append(f"search.{name}: a value is listed twice ({values})")
            for value in values:
                problem = _training_value_problem(name, value)
                if problem:
                    errors.append(f"search.{name}: {value} is not a valid {name} ({problem})")
        if errors:
            raise ValueError("; ".join(errors))
        return self


class StudySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    objective_metric: Optional[str] = setting(
        None, "Validation metric to optimise (null = the base experiment's first metric).", label="Objective metric")
    direction: Optional[Literal["minimize", "maximize"]] = setting(
        None, "Minimise or maximise the objective (null = the metric's own direction).", label="Direction",
        choices=DIRECTIONS)
    max_trials: Optional[int] = setting(8, "Trials to run in all (null = until the time or GPU-hour limit).",
                                        label="Number of trials", ge=1, le=200)
    time_limit_minutes: Optional[float] = setting(
        None, "Wall-clock minutes the study may run; running trials are stopped when it is spent.",
        label="Time limit (minutes)", gt=0, le=60 * 24 * 14)
    gpu_hours_limit: Optional[float] = setting(
        None, "GPU hours the trials may use in all (each trial's runtime × the GPUs it holds); when spent, running "
        "trials are stopped. On a CPU-only machine trials use no GPU, so a GPU-hour budget counts nothing there.",
        label="GPU-hour limit", gt=0, le=100_000)
    concurrent_trials: int = setting(2, "Trials queued or running at once.", label="Trials at once", ge=1, le=16)
    pruner: Literal["median", "successive_halving", "none"] = setting(
        "median", "How unpromising trials are stopped early, from their intermediate validations.",
        label="Pruner", choices=PRUNERS)
    pruner_startup_trials: int = setting(
        2, "Trials that finish before the median pruner prunes anything.", label="Trials before pruning",
        ge=0, le=100)
    seed: int = setting(0, "Seed of the TPE sampler.", label="Sampler seed", ge=0)
    search: SearchSettings = setting(SearchSettings, "The settings the study varies.", label="Search space")

    @model_validator(mode="after")
    def _has_a_budget(self) -> "StudySettings":
        if self.max_trials is None and self.time_limit_minutes is None and self.gpu_hours_limit is None:
            raise ValueError("max_trials: a study needs a budget: a number of trials, a time limit, a GPU-hour "
                             "limit, or several")
        return self


def study_settings(data: dict[str, Any] | None) -> StudySettings:
    """``data`` validated; ConfigError listing every problem, each with its field path."""
    try:
        return StudySettings.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError([_describe(err) for err in exc.errors()]) from None


def _describe(err: dict) -> str:
    path = ".".join(str(part) for part in err["loc"])
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"{path}: unknown study setting"
    if message.startswith(("search.", "max_trials:")):
        return message
    return f"{path}: {message}" if path else message


def _training_value_problem(name: str, value: Any) -> str | None:
    try:
        TrainingSettings.model_validate({name: value})
    except ValidationError as exc:
        return exc.errors()[0]["msg"]
    return None


def form_fields() -> list[tuple[str, Any]]:
    """Every study setting as (path, FieldInfo), the search space's as ``search.<name>``, in form order."""
    top = [(name, info) for name, info in StudySettings.model_fields.items() if name != "search"]
    return top + [(f"search.{name}", info) for name, info in SearchSettings.model_fields.items()]


def settings_from_form(values: dict[str, Any]) -> StudySettings:
    """Settings from form text: lists as comma-separated values, empty text as "not set"."""
    data: dict[str, Any] = {"search": {}}
    for path, info in form_fields():
        if path not in values:
            continue
        value = values[path]
        text = "" if value is None else str(value).strip()
        target, key = (data["search"], path.split(".", 1)[1]) if path.startswith("search.") else (data, path)
        if getattr(info.annotation, "__origin__", None) is list:
            target[key] = [part.strip() for part in text.split(",") if part.strip()]
        elif text:
            target[key] = value if isinstance(value, (int, float)) else text
        elif type(None) in get_args(info.annotation):
            target[key] = None  # an Optional setting left empty: not set (no trial cap, no time limit)
    return study_settings(data)


def form_text(path: str, value: Any) -> str:
    """How a setting's value reads in its form field (the inverse of settings_from_form)."""
    if isinstance(value, list):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return "" if value is None else str(value)
