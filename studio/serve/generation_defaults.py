"""The sampling settings a request gets when it leaves them out: the run's ``prediction.*``.

A model served from a run folder answers the way its validation predictions were generated
(max_length_inference, min_length_inference, temperature, top_k, top_p, repetition_penalty,
num_beams), so a deployment and Chat start from what the run was judged with. A bare model
folder gets the OpenAI defaults (temperature 1, top_p 1, up to the context length).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from studio.config.sections import PredictionSettings


@dataclass(frozen=True)
class GenerationDefaults:
    max_tokens: int | None = None  # None: as many as the context leaves
    min_tokens: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0: off
    repetition_penalty: float = 1.0
    num_beams: int = 1
    source: str | None = None  # the config.yaml they were read from

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "source"}


def from_run_config(config: dict, source: str | None = None) -> GenerationDefaults:
    """The defaults of a run from its resolved config (the dict of its config.yaml)."""
    raw = (config or {}).get("prediction") or {}
    known = {k: v for k, v in raw.items() if k in PredictionSettings.model_fields} if isinstance(raw, dict) else {}
    try:
        prediction = PredictionSettings.model_validate(known)
    except ValueError:  # a hand-edited config.yaml: keep the fields that are valid, default the rest
        valid = {}
        for key, value in known.items():
            try:
                PredictionSettings.model_validate({key: value})
                valid[key] = value
            except ValueError:
                pass
        prediction = PredictionSettings.model_validate(valid)
    return GenerationDefaults(
        max_tokens=prediction.max_length_inference, min_tokens=prediction.min_length_inference,
        temperature=prediction.temperature, top_p=prediction.top_p, top_k=prediction.top_k,
        repetition_penalty=prediction.repetition_penalty, num_beams=prediction.num_beams, source=source)


def from_run_folder(run_dir: Path | None) -> GenerationDefaults:
    """The run's defaults, or the OpenAI defaults when there is no readable config.yaml."""
    if run_dir is None:
        return GenerationDefaults()
    path = Path(run_dir) / "config.yaml"
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return GenerationDefaults()
    return from_run_config(config if isinstance(config, dict) else {}, str(path))
