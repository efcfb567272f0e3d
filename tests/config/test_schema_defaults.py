"""Every YAML key and default the spec lists exists in the schema with the spec's value."""
import json

import pytest

from studio.config import ExperimentConfig, field_meta, iter_fields
from studio.config.problem_types import METRICS, PROBLEM_TYPES

# Copied from the spec's "Configuration schema" and field reference, so the test needs no spec file.
SPEC_DEFAULTS = {
    "problem_type": "text_causal_language_modeling",
    "llm_backbone": "h2oai/h2o-danube3-500m-chat",
    "dataset.input_column": "input",
    "dataset.output_column": "output",
    "dataset.image_column": "image",
    "dataset.data_sample": 1.0,
    "dataset.data_sample_choice": ["Train", "Validation"],
    "dataset.validation_strategy": "automatic",
    "dataset.validation_size": 0.2,
    "dataset.num_classes": None,
    "dataset.system_column": None,
    "dataset.unroll_conversations": False,
    "dataset.train_dataset_id": None,
    "dataset.validation_dataset_id": None,
    "tokenizer.max_length": 512,
    "tokenizer.padding_quantile": 1.0,
    "tokenizer.tokenizer_kwargs": '{"use_fast": true, "add_prefix_space": false}',
    "tokenizer.chat_template": None,
    "tokenizer.padding_side": None,
    "architecture.training_mode": "lora",
    "architecture.gradient_checkpointing": True,
    "architecture.intermediate_dropout": 0.0,
    "architecture.backbone_kwargs": "{}",
    "training.batch_size": 1,
    "training.learning_rate": 0.0001,
    "training.epochs": 1,
    "training.attention_implementation": "auto",
    "training.evaluate_before_training": None,
    "training.differential_learning_rate": 1.0e-05,
    "training.differential_learning_rate_layers": [],
    "training.gradient_clip": 0.0,
    "training.weight_decay": 0.0,
    "training.warmup_epochs": 0.0,
    "training.min_learning_rate_ratio": 0.0,
    "training.grad_accumulation": 1,
    "training.evaluation_epochs": 0.5,
    "training.optimizer": "AdamW",
    "training.schedule": "Cosine",
    "training.train_validation_data": False,
    "training.use_length_based_sampler": True,
    "training.lora_rank": 4,
    "training.lora_alpha": 16,
    "training.lora_dropout": 0.05,
    "training.lora_target_modules": "",
    "training.loss_function": None,
    "training.image_augmentation_pipeline": None,
    "training.image_resolution": None,
    "training.use_mixup": False,
    "training.use_cutmix": False,
    "training.llm_judge_model": "gpt-5-mini",
    "prediction.batch_size_inference": 0,
    "prediction.max_length_inference": 128,
    "prediction.min_length_inference": 2,
    "prediction.num_beams": 1,
    "prediction.repetition_penalty": 1.0,
    "prediction.temperature": 0.0,
    "prediction.top_k": 0,
    "prediction.top_p": 1.0,
    "environment.find_unused_parameters": False,
    "environment.mixed_precision": True,
    "environment.trust_remote_code": False,
    "environment.use_fsdp": False,
    "environment.use_fsdp_cpu_offload": False,
    "environment.seed": -1,
    "environment.huggingface_branch": "main",
}


@pytest.mark.parametrize("path,expected", sorted(SPEC_DEFAULTS.items()))
def test_spec_key_has_spec_default(path, expected):
    assert field_meta(path)["default"] == expected


def test_judge_prompt_default_has_every_placeholder():
    template = ExperimentConfig().training.llm_judge_prompt_template
    for placeholder in ("{PROMPT}", "{PREDICTED_TEXT}", "{TARGET_TEXT}"):
        assert placeholder in template


def test_tokenizer_kwargs_default_is_the_spec_json():
    assert json.loads(ExperimentConfig().tokenizer.tokenizer_kwargs) == {"use_fast": True, "add_prefix_space": False}


def test_every_field_carries_label_and_description():
    for path, info in iter_fields():
        meta = field_meta(path)
        assert meta["label"], path
        assert meta["description"], path


def test_problem_types_and_metrics_match_spec():
    assert PROBLEM_TYPES == [
        "text_causal_language_modeling", "text_causal_classification_modeling", "image_classification",
        "multimodal_causal_language_modeling", "object_detection", "text_dpo_modeling"]
    assert METRICS["text_dpo_modeling"] == ["Reward margin", "Reward accuracy", "Chosen logp", "Rejected logp",
                                            "Perplexity", "BLEU", "LLM-as-a-Judge", "QA_Accuracy"]
    assert METRICS["text_causal_language_modeling"] == ["Perplexity", "BLEU", "LLM-as-a-Judge", "QA_Accuracy"]
    assert METRICS["multimodal_causal_language_modeling"] == ["Perplexity", "BLEU", "QA_Accuracy"]
    assert METRICS["text_causal_classification_modeling"] == ["AUC", "Accuracy", "LogLoss", "MAP@3"]
    assert METRICS["image_classification"] == ["AUC", "Accuracy", "LogLoss", "MAP@3"]
    assert METRICS["object_detection"] == ["mAP", "mAP@50", "mAP@75", "mAR"]


def test_dialog_shows_common_settings_and_hides_yaml_only_ones():
    shown = {path for path, _ in iter_fields() if field_meta(path)["dialog"]}
    for path in ("experiment_name", "problem_type", "dataset.train_dataset_id", "dataset.input_column",
                 "tokenizer.max_length", "architecture.training_mode", "training.batch_size",
                 "training.learning_rate", "training.epochs", "prediction.metrics", "training.lora_rank"):
        assert path in shown
    for path in ("tokenizer.chat_template", "environment.seed", "prediction.num_beams",
                 "architecture.gradient_checkpointing"):
        assert path not in shown


def test_lora_fields_show_only_for_lora_modes():
    assert field_meta("training.lora_rank")["show_when"] == {"architecture.training_mode": ["lora", "qlora"]}
