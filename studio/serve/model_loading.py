"""Load a trained model folder (merged model or peft adapter) for serving, on the chosen device."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ModelLoadError(RuntimeError):
    """The folder given to --model cannot be served; the message says why and what to pass instead."""


GENERATE = "generate"
GENERATE_WITH_IMAGES = "generate_with_images"
CLASSIFY_TEXT = "classify_text"
CLASSIFY_IMAGE = "classify_image"


@dataclass
class LoadedModel:
    kind: str  # GENERATE, GENERATE_WITH_IMAGES, CLASSIFY_TEXT or CLASSIFY_IMAGE
    model: Any
    tokenizer: Any = None  # text models
    processor: Any = None  # image-text-to-text models (its tokenizer is also ``tokenizer``)
    image_processor: Any = None  # image classifiers
    labels: dict[int, str] = field(default_factory=dict)
    device: str = "cpu"


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"--device {device}: no CUDA GPU is visible; use --device cpu")
    return device


def model_kind(model_dir: Path) -> str:
    """What the folder holds, read from config.json (or the adapter's base model)."""
    config_path = model_dir / "config.json"
    if not config_path.exists():
        return GENERATE  # adapter folders carry no config.json; studio adapters are causal LMs
    config = json.loads(config_path.read_text())
    architectures = config.get("architectures") or []
    for arch in architectures:
        if arch.endswith("ForSequenceClassification"):
            return CLASSIFY_TEXT
        if arch.endswith("ForImageClassification"):
            return CLASSIFY_IMAGE
        if arch.endswith("ForObjectDetection"):
            raise ModelLoadError(f"{model_dir}: object detection models cannot be served")
    if "vision_config" in config:
        return GENERATE_WITH_IMAGES
    return GENERATE


def is_adapter(model_dir: Path) -> bool:
    return (model_dir / "adapter_config.json").exists()


def holds_model(folder: Path) -> bool:
    return (folder / "config.json").is_file() or is_adapter(folder)


def find_model_folder(path: str | Path) -> Path:
    """The folder to serve for ``path``: itself when it holds a model or an adapter; for a run folder
    or its ``checkpoint`` folder, the merged model inside (else the adapter).
    """
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir() and _HUB_ID.fullmatch(str(path)):
        folder = _hub_snapshot(str(path))  # a run's base model named by its Hub id
    if not folder.is_dir():
        raise ModelLoadError(f"--model {path}: no such folder")
    for candidate in (folder, folder / "model", folder / "adapter",
                      folder / "checkpoint" / "model", folder / "checkpoint" / "adapter"):
        if holds_model(candidate):
            return candidate
    raise ModelLoadError(f"--model {path}: neither a model (config.json) nor a peft adapter (adapter_config.json) "
                         "folder, nor a run folder (or its checkpoint folder) holding checkpoint/model or "
                         "checkpoint/adapter")


_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_HUB_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.jinja"]


def _hub_snapshot(repo_id: str) -> Path:
    """The local snapshot of a Hub model (from the cache, else downloaded; HF_HUB_OFFLINE=1 forbids that)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, allow_patterns=_HUB_FILES))
    except LocalEntryNotFoundError:
        raise ModelLoadError(f"--model {repo_id}: not in the Hugging Face cache, and the Hub cannot be "
                             "reached (offline)") from None
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise ModelLoadError(f"--model {repo_id}: not a local folder, and the Hub did not give it: {exc}") from None


def run_folder_of(model_dir: Path) -> Path | None:
    """The run folder a served model came from (``RUN_DIR/checkpoint/model``), when there is one."""
    for folder in (model_dir.parent.parent, model_dir.parent, model_dir):
        if (folder / "config.yaml").is_file() and (folder / "checkpoint").is_dir():
            return folder
    return None


def load(model_path: str | Path, device: str = "auto") -> LoadedModel:
    import torch

    model_dir = find_model_folder(model_path)
    device = resolve_device(device)
    dtype = torch.float32
    if device.startswith("cuda"):
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    kind = model_kind(model_dir)
    if kind == CLASSIFY_IMAGE:
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        model = AutoModelForImageClassification.from_pretrained(str(model_dir), dtype=dtype)
        loaded = LoadedModel(kind, model, image_processor=AutoImageProcessor.from_pretrained(str(model_dir)))
    elif kind == CLASSIFY_TEXT:
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), dtype=dtype)
        loaded = LoadedModel(kind, model, tokenizer=_tokenizer(model_dir))
    elif kind == GENERATE_WITH_IMAGES:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        model = AutoModelForImageTextToText.from_pretrained(str(model_dir), dtype=dtype)
        processor = AutoProcessor.from_pretrained(str(model_dir))
        loaded = LoadedModel(kind, model, tokenizer=processor.tokenizer, processor=processor)
    elif is_adapter(model_dir):
        loaded = LoadedModel(kind, _merged_adapter(model_dir, dtype), tokenizer=_tokenizer(model_dir))
    else:
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype)
        loaded = LoadedModel(kind, model, tokenizer=_tokenizer(model_dir))
    loaded.model.to(device).eval()
    loaded.device = device
    loaded.labels = {int(k): str(v) for k, v in (loaded.model.config.id2label or {}).items()}
    return loaded


def _merged_adapter(adapter_dir: Path, dtype):
    """Base model + adapter, merged so generation runs at full speed without peft hooks."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base_name = json.loads((adapter_dir / "adapter_config.json").read_text()).get("base_model_name_or_path")
    if not base_name:
        raise ModelLoadError(f"{adapter_dir}/adapter_config.json has no base_model_name_or_path")
    base = AutoModelForCausalLM.from_pretrained(base_name, dtype=dtype)
    return PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()


def _tokenizer(model_dir: Path):
    from transformers import AutoTokenizer

    source = model_dir
    if not any((model_dir / f).exists() for f in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")):
        # An adapter folder saved without its tokenizer: the base model's tokenizer is the right one.
        source = json.loads((model_dir / "adapter_config.json").read_text())["base_model_name_or_path"]
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
