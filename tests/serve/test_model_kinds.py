"""What studio.serve loads: classifiers answer with a label and probabilities; adapters are merged."""
from __future__ import annotations

import base64
import io
import json

import pytest
import torch
from fastapi.testclient import TestClient

from studio.serve.app import create_app
from studio.serve.model_loading import CLASSIFY_IMAGE, CLASSIFY_TEXT, GENERATE, ModelLoadError, load
from studio.serve.transformers_engine import TransformersClassifier
from training.tiny_models import build_tokenizer

LABELS = {0: "negative", 1: "neutral", 2: "positive"}


def chat(app, content):
    response = TestClient(app).post("/v1/chat/completions",
                                    json={"messages": [{"role": "user", "content": content}]})
    assert response.status_code == 200, response.text
    return response.json()


def assert_label_with_probabilities(body):
    probs = body["studio_probabilities"]
    assert set(probs) == set(LABELS.values())
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert body["choices"][0]["message"]["content"] == max(probs, key=probs.get)


def test_text_classifier_answers_with_top_label_and_probabilities(tmp_path):
    from transformers import LlamaConfig, LlamaForSequenceClassification

    tokenizer = build_tokenizer(tmp_path)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, pad_token_id=tokenizer.pad_token_id,
                         num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    LlamaForSequenceClassification(config).save_pretrained(tmp_path)
    loaded = load(tmp_path, "cpu")
    assert loaded.kind == CLASSIFY_TEXT
    body = chat(create_app(TransformersClassifier(loaded), "clf"), "I loved this film")
    assert_label_with_probabilities(body)
    assert body["usage"]["prompt_tokens"] > 0


def test_image_classifier_reads_a_data_uri_image(tmp_path):
    from PIL import Image
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    config = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=64, num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    ViTForImageClassification(config).save_pretrained(tmp_path)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    loaded = load(tmp_path, "cpu")
    assert loaded.kind == CLASSIFY_IMAGE
    png = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(png, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    app = create_app(TransformersClassifier(loaded), "vit")
    assert_label_with_probabilities(chat(app, [{"type": "text", "text": "what is it?"},
                                               {"type": "image_url", "image_url": {"url": uri}}]))
    response = TestClient(app).post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "no image"}]})
    assert response.status_code == 400 and "image_url" in response.json()["error"]["message"]


def test_adapter_folder_is_loaded_on_its_base_and_merged(tiny_llama_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_llama_dir),
                                LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(tmp_path / "adapter")
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(tiny_llama_dir)

    loaded = load(tmp_path / "adapter", "cpu")
    assert loaded.kind == GENERATE and type(loaded.model).__name__ == "LlamaForCausalLM"
    ids = torch.tensor([[1, 5, 9, 12]])
    with torch.no_grad():
        expected = peft_model.eval()(input_ids=ids).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)(input_ids=ids).logits
        merged = loaded.model(input_ids=ids).logits
    assert torch.allclose(merged, expected, atol=1e-5)
    assert not torch.allclose(merged, base, atol=1e-3)
    assert loaded.tokenizer is not None  # taken from the base model: the adapter folder has none


def test_object_detection_and_empty_folders_are_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["DetrForObjectDetection"]}))
    with pytest.raises(ModelLoadError, match="object detection"):
        load(tmp_path, "cpu")
    with pytest.raises(ModelLoadError, match="neither a model"):
        load(tmp_path / "..", "cpu")


def test_image_text_model_generates_from_an_image_and_a_question(tmp_path):
    from PIL import Image

    from studio.config.templates import DEFAULT_CHAT_TEMPLATE
    from studio.serve.model_loading import GENERATE_WITH_IMAGES
    from studio.serve.transformers_engine import TransformersGenerator
    from training.tiny_models import build_llava

    loaded = load(build_llava(tmp_path), "cpu")
    assert loaded.kind == GENERATE_WITH_IMAGES
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(png, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    client = TestClient(create_app(TransformersGenerator(loaded, DEFAULT_CHAT_TEMPLATE), "llava"))
    message = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": uri}},
                                           {"type": "text", "text": "What colour?"}]}
    response = client.post("/v1/chat/completions", json={"messages": [message], "max_tokens": 4, "temperature": 0})
    assert response.status_code == 200, response.text
    body = response.json()
    # 16 image patches + 1 extra token expand the single <image> placeholder in the prompt.
    assert body["usage"]["prompt_tokens"] > 16 and 1 <= body["usage"]["completion_tokens"] <= 4
