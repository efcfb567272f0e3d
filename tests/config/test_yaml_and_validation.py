"""YAML round trip, override dumps, and each validator's message."""
import pytest

from studio.config import ConfigError, ExperimentConfig, dump_yaml, from_dict, load_yaml, overrides_yaml, resolve

BASE = "dataset:\n  train_dataframe: train.csv\n"


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_yaml(text)
    return info.value.errors


def test_user_yaml_merges_onto_defaults():
    config = load_yaml(BASE + "training:\n  learning_rate: 0.001\n")
    assert config.training.learning_rate == 0.001
    assert config.training.epochs == 1
    assert config.llm_backbone == "h2oai/h2o-danube3-500m-chat"


def test_dump_then_load_gives_the_same_config():
    config = load_yaml(BASE + "architecture:\n  training_mode: full\nprediction:\n  metrics: [BLEU]\n")
    assert load_yaml(dump_yaml(config)) == config


def test_overrides_yaml_holds_only_changed_keys():
    config = load_yaml(BASE + "training:\n  epochs: 3\n")
    text = overrides_yaml(config)
    assert "epochs: 3" in text and "learning_rate" not in text
    assert load_yaml(text) == config


def test_unknown_key_names_the_closest_valid_key():
    assert errors_of(BASE + "training:\n  learnig_rate: 0.1\n") == [
        "training.learnig_rate: unknown key; did you mean training.learning_rate?"]


def test_key_in_wrong_section_points_to_its_section():
    errors = errors_of(BASE + "training:\n  max_length: 100\n")
    assert errors == ["training.max_length: unknown key; did you mean tokenizer.max_length?"]


def test_all_errors_are_reported_at_once():
    errors = errors_of("training:\n  batch_size: 0\n  optimizer: Lion\nenvironment:\n  use_fsdp_cpu_offload: true\n")
    joined = "\n".join(errors)
    assert "training.batch_size:" in joined
    assert "training.optimizer: must be one of" in joined
    assert "environment.use_fsdp_cpu_offload: needs environment.use_fsdp" in joined
    assert "dataset.train_dataset_id: choose a train dataset" in joined


def test_bad_yaml_syntax_says_where():
    assert errors_of("training: [\n")[0].startswith("YAML: cannot parse at line")


@pytest.mark.parametrize("yaml_text,expected", [
    ("prediction:\n  metrics: [AUC]\n", "prediction.metrics: 'AUC' is not a metric of text_causal_language_modeling"),
    ("dataset:\n  validation_strategy: custom\n", "dataset.validation_dataset_id: the custom validation strategy needs"),
    ("dataset:\n  output_column: null\n", "dataset.output_column: may be null only when dataset.unroll_conversations"),
    ("prediction:\n  metrics: [LLM-as-a-Judge]\ntraining:\n  llm_judge_model: ''\n",
     "training.llm_judge_model: LLM-as-a-Judge needs a judge model"),
    ("training:\n  loss_function: Hinge\n", "training.loss_function: unknown loss 'Hinge'"),
    ("training:\n  use_mixup: true\n", "training.use_mixup: only applies to image_classification"),
    ("tokenizer:\n  tokenizer_kwargs: '{bad'\n", "tokenizer.tokenizer_kwargs: not valid JSON"),
    ("problem_type: image_classification\ndataset:\n  unroll_conversations: true\n",
     "dataset.unroll_conversations: only applies to text_causal_language_modeling"),
])
def test_cross_field_rule_names_its_field(yaml_text, expected):
    with_train_data = (yaml_text.replace("dataset:\n", BASE, 1) if "dataset:" in yaml_text else BASE + yaml_text)
    assert expected in "\n".join(errors_of(with_train_data))


def test_output_column_accepts_several_columns():
    config = load_yaml(BASE + "  output_column: [answer, rationale]\n")
    assert config.dataset.output_column == ["answer", "rationale"]


def test_resolve_fills_auto_values_per_problem_type():
    lm, notes = resolve(load_yaml(BASE), max_position_embeddings=256)
    assert lm.training.evaluate_before_training is False
    assert lm.tokenizer.padding_side == "left"
    assert lm.prediction.metrics == ["Perplexity", "BLEU"]
    assert lm.tokenizer.max_length == 256
    assert 0 <= lm.environment.seed and any("seed" in n for n in notes)
    clf, _ = resolve(from_dict({"problem_type": "text_causal_classification_modeling",
                                "dataset": {"train_dataframe": "t.csv"}, "environment": {"seed": 7}}))
    assert clf.training.evaluate_before_training is True
    assert clf.tokenizer.padding_side == "right"
    assert clf.environment.seed == 7


def test_resolve_keeps_explicit_values():
    config = load_yaml(BASE + "training:\n  evaluate_before_training: true\ntokenizer:\n  padding_side: right\n")
    resolved, _ = resolve(config)
    assert resolved.training.evaluate_before_training is True
    assert resolved.tokenizer.padding_side == "right"


def test_default_config_only_lacks_a_dataset():
    assert ExperimentConfig().rule_violations() == ["dataset.train_dataset_id: choose a train dataset"]


def test_differential_layers_take_the_specs_comma_separated_form_or_a_list():
    comma = load_yaml(BASE + "training:\n  differential_learning_rate_layers: 'head, layers.11 ,'\n")
    listed = load_yaml(BASE + "training:\n  differential_learning_rate_layers: [head, layers.11]\n")
    assert comma.training.differential_learning_rate_layers == ["head", "layers.11"] == \
        listed.training.differential_learning_rate_layers
    assert load_yaml(BASE + "training:\n  differential_learning_rate_layers: ''\n") == load_yaml(BASE)
