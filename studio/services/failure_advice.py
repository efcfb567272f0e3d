"""Ask KGM on a failed run: name what made it fail and give the fix for that, not advice on curves.

The failure is read from the run's one-line reason (status.json's ``error``, as the engine or
the supervisor wrote it). Each kind proposes the config changes that address it, or none when
the fix is outside the config (a model folder to provide, a data file to repair): then the
explanation says what to do and the dialog offers nothing to launch.
"""
from __future__ import annotations

import re
from typing import Any

from studio.config import ExperimentConfig
from studio.config.problem_types import LLM_JUDGE

from .recommendation import Recommendation, rounded

_MODEL_LOAD = re.compile(r"llm_backbone: cannot (?:be )?load|is not a valid model identifier|"
                         r"couldn't connect to .*huggingface|localentrynotfound|repositorynotfound|"
                         r"does not appear to have a file named config\.json|gatedrepoerror", re.I)
_OUT_OF_MEMORY = re.compile(r"out[ -]of[ -]memory|\boom\b|cannot allocate memory|memoryerror|"
                            r"killed by sigkill", re.I)
_NOT_FINITE = re.compile(r"\bnan\b|\binf\b|not finite|non-finite|infinite", re.I)
_TIMEOUT = re.compile(r"timed? ?out|timeout|deadline exceeded", re.I)
# The supervisor's words for a run whose heartbeat stopped (studio/runner/hang_watch.py).
_HANG = re.compile(r"stopped responding|no progress for|not responding|\bhung\b|\bhang", re.I)
_JUDGE = re.compile(r"judge|openai|chat/completions", re.I)
_DATA = re.compile(r"^(?:dataset\.|data\b|\w+ data, )|\bcolumn\b|unreadable image|cannot read the image|"
                   r"empty split|no rows", re.I)
_CONFIG = re.compile(r"^invalid config:", re.I)


def is_model_load_failure(error: str | None) -> bool:
    return bool(error) and bool(_MODEL_LOAD.search(error))


def failure_advice(config: ExperimentConfig, error: str | None,
                   alternative_model: str | None = None) -> Recommendation:
    """The fix for a run that ended Failed with ``error``; its evidence quotes the reason."""
    error = " ".join((error or "").split())
    quoted = f"“{error}”" if error else "no reason was recorded"
    rule, (title, explanation, overrides) = _advice(config, error, quoted, alternative_model)
    return Recommendation(title, explanation, overrides, [f"failure reason: {quoted}"], rule)


def _advice(config, error, quoted, alternative_model) -> tuple[str, tuple[str, str, dict[str, Any]]]:
    if is_model_load_failure(error):
        return "model_not_loadable", _model_not_loadable(config, quoted, alternative_model)
    if _OUT_OF_MEMORY.search(error):
        return "out_of_memory", _out_of_memory(config, quoted)
    if _HANG.search(error):
        return "hang", _hung(config, quoted)
    if _TIMEOUT.search(error):
        return "timeout", _timed_out(config, quoted, error)
    if _NOT_FINITE.search(error):
        return "not_finite", _not_finite(config, quoted)
    if _CONFIG.search(error):
        return "config", ("Fix the settings the run rejected",
                          f"The run stopped before training because its configuration is invalid: {quoted}. Copy "
                          "this experiment, correct each field named there (the New Experiment dialog lists them), "
                          "and start it.", {})
    if _DATA.search(error):
        return "data", ("Fix the data the run could not use",
                        f"The run failed on its data: {quoted}. Check the dataset and the column settings it names "
                        "(dataset.input_column, output_column, image_column …) against the columns shown on the "
                        "Datasets page, then Copy this experiment with the right columns or re-import the fixed "
                        "file.", {})
    return "unknown", ("Read the failure first",
                       f"The run failed: {quoted}. This is not a setting Ask KGM can tune; the System logs tab shows "
                       "the lines before the failure. Fix the cause, then Rerun.", {})


def _model_not_loadable(config, quoted, alternative):
    model = config.llm_backbone
    if alternative and alternative != model:
        return ("Train on a model this machine can load",
                f"The model {model} could not be loaded: {quoted}. {alternative} fits "
                f"{config.problem_type} and loads here, so the new run uses it. To keep {model}, download it "
                f"once while online (`huggingface-cli download {model}`) or register a local copy in "
                "STUDIO_HOME/models.yaml, then Copy this experiment.",
                {"llm_backbone": alternative})
    return ("Provide the model: it could not be loaded",
            f"The model {model} could not be loaded: {quoted}. On an offline machine, download it once while "
            f"online (`huggingface-cli download {model}`), or copy its folder here (config.json and weights) "
            "and register the folder in STUDIO_HOME/models.yaml; then Copy this experiment and choose it. "
            "A gated model also needs a Hugging Face token in Settings.", {})


def _out_of_memory(config, quoted):
    batch = config.training.batch_size
    training: dict[str, Any] = {"batch_size": max(1, batch // 2),
                                "grad_accumulation": config.training.grad_accumulation * (2 if batch > 1 else 1)}
    architecture: dict[str, Any] = {"gradient_checkpointing": True}
    if config.architecture.training_mode == "full":
        architecture["training_mode"] = "lora"
    tokens = ""
    if batch == 1 and config.tokenizer.max_length > 256:
        tokens = f" The batch is already 1, so the sequences get shorter ({config.tokenizer.max_length} → " \
                 f"{config.tokenizer.max_length // 2} tokens)."
    overrides: dict[str, Any] = {"training": training, "architecture": architecture}
    if tokens:
        overrides["tokenizer"] = {"max_length": config.tokenizer.max_length // 2}
    return ("Use less memory",
            f"The run ran out of memory: {quoted}. Halve the batch size and double gradient accumulation (the "
            "same effective batch), turn gradient checkpointing on, and prefer LoRA over full fine-tuning."
            + tokens, overrides)


def _not_finite(config, quoted):
    lr = config.training.learning_rate
    return ("Lower the learning rate and clip gradients",
            f"The loss stopped being a number: {quoted}. A smaller learning rate ({lr:g} → {lr / 3:.2g}) with "
            "gradient clipping at 1.0 usually keeps it finite.",
            {"training": {"learning_rate": rounded(lr / 3), "gradient_clip": 1.0}})


def _timed_out(config, quoted, error):
    metrics = list(config.prediction.metrics or [])
    if LLM_JUDGE in metrics and _JUDGE.search(error):
        kept = [m for m in metrics if m != LLM_JUDGE]
        return ("Evaluate without the judge that did not answer",
                f"The LLM judge did not answer in time: {quoted}. Check the judge's base URL and model in "
                "Settings (a local deployment can be the judge); meanwhile the new run evaluates without it.",
                {"prediction": {"metrics": kept or None}})
    return ("Make what the run waited for reachable",
            f"Something the run waited on did not answer in time: {quoted}. If it was the Hugging Face Hub "
            f"(downloading {config.llm_backbone}), download the model once while online or register a local "
            "folder; otherwise check the network the machine uses, then Rerun.", {})


def _hung(config, quoted):
    """A run the supervisor killed because its heartbeat stopped: remove what most often hangs."""
    metrics = list(config.prediction.metrics or [])
    if config.environment.number_of_gpus > 1:
        return ("Run on one GPU: the distributed run hung",
                f"The run stopped responding: {quoted}. A multi-GPU run that hangs is most often waiting on a "
                "collective (one rank failed or is stuck); the new run uses one GPU, which shows the real error "
                "if there is one.", {"environment": {"number_of_gpus": 1, "use_fsdp": False}})
    if LLM_JUDGE in metrics:
        kept = [m for m in metrics if m != LLM_JUDGE]
        return ("Evaluate without the judge while the run hangs",
                f"The run stopped responding: {quoted}. Its evaluation waits on the LLM judge, the usual cause "
                "of a silent run; the new run evaluates without it (check the judge's endpoint in Settings).",
                {"prediction": {"metrics": kept or None}})
    if config.environment.compile_model:
        return ("Run without torch.compile",
                f"The run stopped responding: {quoted}. Compiling the model can take very long without a "
                "heartbeat; the new run trains without it.", {"environment": {"compile_model": False}})
    return ("Find where the run hung",
            f"The run stopped responding: {quoted}. The System logs tab shows the last stage it reached; if "
            "that was a download, provide the model locally; otherwise raise the hung-run timeout in Settings "
            "for a very slow step, then Rerun.", {})
