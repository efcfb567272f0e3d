"""architecture.intermediate_dropout: hidden/MLP dropout where the model has it, added to Llama's
MLP blocks where it has none, and a model's own dropout left alone at the default 0.0."""
from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, DetrConfig, ResNetConfig, ViTConfig

from studio.config import from_dict
from training.modeling import add_mlp_dropout, backbone_config, set_dropout


def _cfg(model_dir, p=None):
    architecture = {} if p is None else {"intermediate_dropout": p}
    return from_dict({"llm_backbone": str(model_dir), "dataset": {"train_dataframe": "t.csv"},
                      "architecture": architecture})


def _tiny_detr():
    return DetrConfig(use_timm_backbone=False, use_pretrained_backbone=False, d_model=32, num_queries=10,
                      encoder_layers=1, decoder_layers=1, backbone_config=ResNetConfig(hidden_sizes=[16, 32]))


def test_the_default_leaves_detr_its_own_dropout():
    config = _tiny_detr()
    own = (config.dropout, config.activation_dropout, config.attention_dropout)
    assert own[0] > 0  # DETR trains with dropout 0.1 by default
    assert set_dropout(config, 0.0) == []
    assert (config.dropout, config.activation_dropout, config.attention_dropout) == own


def test_a_chosen_value_sets_the_hidden_and_mlp_dropout_not_attention():
    config = _tiny_detr()
    attention = config.attention_dropout
    assert set(set_dropout(config, 0.2)) == {"dropout", "activation_dropout"}
    assert (config.dropout, config.activation_dropout, config.attention_dropout) == (0.2, 0.2, attention)
    vit = ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    set_dropout(vit, 0.3)
    assert vit.hidden_dropout_prob == 0.3 and vit.attention_probs_dropout_prob == 0.0


def test_llama_gets_dropout_on_its_mlp_blocks_active_only_in_training(tiny_llama_dir):
    config = backbone_config(_cfg(tiny_llama_dir, 0.3))
    assert config.attention_dropout == 0.0  # unchanged: Llama's only dropout field is attention's
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, config=config)
    blocks = add_mlp_dropout(model, 0.3)
    assert blocks == config.num_hidden_layers
    ids = torch.tensor([[5, 6, 7, 8, 9, 10]])
    model.train()
    first, second = model(input_ids=ids).logits, model(input_ids=ids).logits
    assert not torch.allclose(first, second)
    model.eval()
    assert torch.allclose(model(input_ids=ids).logits, model(input_ids=ids).logits)


def test_llama_at_the_default_has_no_added_dropout(tiny_llama_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, config=backbone_config(_cfg(tiny_llama_dir)))
    assert add_mlp_dropout(model, 0.0) == 0
    model.train()
    ids = torch.tensor([[5, 6, 7, 8]])
    assert torch.allclose(model(input_ids=ids).logits, model(input_ids=ids).logits)


def test_a_model_with_a_hidden_dropout_field_gets_no_extra_hooks():
    from transformers import AutoModelForImageClassification

    vit = ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                    image_size=32, patch_size=8)
    assert add_mlp_dropout(AutoModelForImageClassification.from_config(vit), 0.3) == 0
