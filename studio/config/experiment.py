"""ExperimentConfig: the whole experiment, its cross-field rules, and field introspection."""
from __future__ import annotations

import json
from typing import Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

from .errors import short_repr
from .problem_types import (
    CHAT_TYPES, DPO, IMAGE_CLASSIFICATION, LLM_JUDGE, LOSS_FUNCTIONS, METRICS, PROBLEM_TYPES,
)
from .sections import (
    TOP_LEVEL, ArchitectureSettings, DatasetSettings, EnvironmentSettings, PredictionSettings,
    TokenizerSettings, TrainingSettings,
)

ProblemType = Literal[tuple(PROBLEM_TYPES)]  # type: ignore[valid-type]


class ExperimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    experiment_name: str = TOP_LEVEL["experiment_name"]
    problem_type: ProblemType = TOP_LEVEL["problem_type"]  # type: ignore[valid-type]
    llm_backbone: str = TOP_LEVEL["llm_backbone"]
    dataset: DatasetSettings = Field(default_factory=DatasetSettings)
    tokenizer: TokenizerSettings = Field(default_factory=TokenizerSettings)
    architecture: ArchitectureSettings = Field(default_factory=ArchitectureSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    prediction: PredictionSettings = Field(default_factory=PredictionSettings)
    environment: EnvironmentSettings = Field(default_factory=EnvironmentSettings)

    def rule_violations(self) -> list[str]:
        """Cross-field rules, each message starting with the field path it concerns."""
        errors: list[str] = []
        pt = self.problem_type
        ds, tr, pr, env = self.dataset, self.training, self.prediction, self.environment
        if env.use_fsdp_cpu_offload and not env.use_fsdp:
            errors.append("environment.use_fsdp_cpu_offload: needs environment.use_fsdp to be true")
        if ds.validation_strategy == "custom" and not (ds.validation_dataset_id or ds.validation_dataframe):
            errors.append("dataset.validation_dataset_id: the custom validation strategy needs a validation dataset")
        if ds.output_column is None and pt == DPO:
            errors.append("dataset.output_column: name the column of the chosen answers")
        elif ds.output_column is None and not ds.unroll_conversations:
            errors.append("dataset.output_column: may be null only when dataset.unroll_conversations is true")
        if isinstance(ds.output_column, list) and not ds.output_column:
            errors.append("dataset.output_column: name at least one column")
        chat_types = " and ".join(sorted(CHAT_TYPES))
        if ds.unroll_conversations and pt not in CHAT_TYPES:
            errors.append(f"dataset.unroll_conversations: only applies to {chat_types}, not {pt}")
        if ds.system_column and pt not in CHAT_TYPES:
            errors.append(f"dataset.system_column: only applies to {chat_types}, not {pt}")
        if not (ds.train_dataset_id or ds.train_dataframe):
            errors.append("dataset.train_dataset_id: choose a train dataset")
        for metric in pr.metrics or []:
            if metric not in METRICS[pt]:
                errors.append(f"prediction.metrics: {short_repr(metric)} is not a metric of {pt}; "
                              f"choose from {', '.join(METRICS[pt])}")
        if pr.metrics is not None and not pr.metrics:
            errors.append("prediction.metrics: choose at least one metric (or null for the defaults)")
        if LLM_JUDGE in (pr.metrics or []):
            if not tr.llm_judge_model.strip():
                errors.append("training.llm_judge_model: LLM-as-a-Judge needs a judge model")
            if "{PREDICTED_TEXT}" not in tr.llm_judge_prompt_template:
                errors.append("training.llm_judge_prompt_template: must contain {PREDICTED_TEXT}")
        if tr.loss_function is not None and tr.loss_function not in LOSS_FUNCTIONS[pt]:
            errors.append(
                f"training.loss_function: unknown loss {short_repr(tr.loss_function)} for {pt}; "
                f"choose from {', '.join(LOSS_FUNCTIONS[pt])}")
        if pt != IMAGE_CLASSIFICATION:
            for name in ("image_augmentation_pipeline", "image_resolution"):
                if getattr(tr, name) is not None:
                    errors.append(f"training.{name}: only applies to {IMAGE_CLASSIFICATION}")
            for name in ("use_mixup", "use_cutmix"):
                if getattr(tr, name):
                    errors.append(f"training.{name}: only applies to {IMAGE_CLASSIFICATION}")
        for name in ("tokenizer_kwargs",):
            errors += _json_object_error(f"tokenizer.{name}", self.tokenizer.tokenizer_kwargs)
        errors += _json_object_error("architecture.backbone_kwargs", self.architecture.backbone_kwargs)
        return errors


MAX_KWARGS_CHARS = 10_000
MAX_KWARGS_DEPTH = 10


def _json_object_error(path: str, text: str) -> list[str]:
    text = text or "{}"
    if len(text) > MAX_KWARGS_CHARS:
        return [f"{path}: {len(text):,} characters; keyword arguments fit in {MAX_KWARGS_CHARS:,}"]
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"{path}: not valid JSON ({exc.msg} at column {exc.colno})"]
    except RecursionError:
        return [f"{path}: nested deeper than {MAX_KWARGS_DEPTH} levels"]
    except ValueError:  # json.loads refuses integers over Python's 4,300-digit limit
        return [f"{path}: holds a number too long to read (over 4,300 digits)"]
    if not isinstance(value, dict):
        return [f"{path}: must be a JSON object like {{\"key\": value}}"]
    if _depth(value) > MAX_KWARGS_DEPTH:
        return [f"{path}: nested deeper than {MAX_KWARGS_DEPTH} levels"]
    return []


def _depth(value: Any) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        todo.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def iter_fields() -> Iterator[tuple[str, FieldInfo]]:
    """Every leaf field as (dotted path, FieldInfo), in schema order."""
    for name, info in ExperimentConfig.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub, sub_info in annotation.model_fields.items():
                yield f"{name}.{sub}", sub_info
        else:
            yield name, info


def field_info(path: str) -> FieldInfo:
    for candidate, info in iter_fields():
        if candidate == path:
            return info
    raise KeyError(path)


def field_meta(path: str) -> dict[str, Any]:
    info = field_info(path)
    meta = dict(info.json_schema_extra or {})
    meta["description"] = info.description or ""
    meta["default"] = info.get_default(call_default_factory=True)
    return meta


def get_path(config: ExperimentConfig, path: str) -> Any:
    value: Any = config
    for part in path.split("."):
        value = getattr(value, part)
    return value
