"""Chat generation and classification with a transformers model, one request at a time."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterator

from .generation_defaults import GenerationDefaults
from .message_content import RequestError, message_images, message_text
from .model_loading import CLASSIFY_IMAGE, LoadedModel
from .stop_sequences import StopScanner

__all__ = ["RequestError", "SamplingParams", "TransformersClassifier", "TransformersGenerator", "Usage"]


@dataclass
class SamplingParams:
    """What one request generates with: its own values, else the server's GenerationDefaults."""
    max_tokens: int | None = None
    min_tokens: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    num_beams: int = 1
    stop: list[str] | None = None

    @classmethod
    def resolve(cls, defaults: GenerationDefaults, stop: list[str] | None = None, **requested) -> "SamplingParams":
        values = defaults.as_dict()
        values.update({k: v for k, v in requested.items() if v is not None})
        return cls(stop=stop, **values)


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens}


class GenerationStream:
    """Iterate text deltas; afterwards ``finish_reason`` and ``usage`` describe what happened."""

    def __init__(self, deltas: Iterator[str]):
        self._deltas = deltas
        self.finish_reason = "stop"
        self.usage = Usage()

    def __iter__(self) -> Iterator[str]:
        return self._deltas


class TransformersGenerator:
    def __init__(self, loaded: LoadedModel, chat_template: str):
        self.loaded = loaded
        self.tokenizer = loaded.tokenizer
        self.chat_template = None if self.tokenizer.chat_template else chat_template
        text_config = loaded.model.config.get_text_config()
        self.max_positions = getattr(text_config, "max_position_embeddings", None) or 2048
        # One model, one forward at a time: concurrent generate() calls would only thrash the device.
        self.lock = threading.Lock()

    def prompt_inputs(self, messages: list[dict]) -> dict:
        """Token ids (and pixel values for image-text models) of the chat, ready for generate()."""
        processor = self.loaded.processor
        image_token = getattr(processor, "image_token", None) if processor is not None else None
        conversation, images = [], []
        for index, m in enumerate(messages):
            content = m.get("content")
            if image_token is None and isinstance(content, list) and any(p.get("type") == "image_url" for p in content):
                raise RequestError("this model reads text only; remove the image_url parts", f"messages.{index}")
            pictures = message_images(content, f"messages.{index}")
            images += pictures
            # One image token per picture, before the text, as Studio formats multimodal samples.
            text = "".join(f"{image_token}\n" for _ in pictures) + message_text(m.get("content"))
            conversation.append({"role": m["role"], "content": text})
        from jinja2 import TemplateError

        try:
            text = self.tokenizer.apply_chat_template(
                conversation, chat_template=self.chat_template, add_generation_prompt=True, tokenize=False)
        except TemplateError as exc:  # e.g. a model template that insists on alternating roles
            raise RequestError(f"the model's chat template refuses these messages: {exc}", "messages") from None
        if processor is None:
            return {"input_ids": self.tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]}
        try:
            inputs = processor(text=[text], images=images or None, return_tensors="pt", add_special_tokens=False)
        except ValueError as exc:  # e.g. the text itself spells the image token
            raise RequestError(f"the processor refuses this prompt: {exc}", "messages") from None
        return {k: v for k, v in inputs.items() if k != "attention_mask"}

    def stream(self, messages: list[dict], params: SamplingParams) -> GenerationStream:
        inputs = self.prompt_inputs(messages)
        input_ids = inputs.pop("input_ids")
        prompt_len = input_ids.shape[1]
        room = self.max_positions - prompt_len
        if room <= 0:
            raise RequestError(f"the prompt has {prompt_len} tokens; this model's context length is "
                               f"{self.max_positions}", "messages")
        max_new = min(params.max_tokens or room, room)
        result = GenerationStream(iter(()))
        result.usage.prompt_tokens = prompt_len
        result._deltas = self._run(input_ids, inputs, max_new, params, result)
        return result

    def _run(self, input_ids, extra_inputs: dict, max_new: int, params: SamplingParams,
             result: GenerationStream) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        cancel = threading.Event()

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return cancel.is_set()

        beams = params.num_beams > 1
        # transformers streams greedy and sampled decoding only; beam search answers in one piece.
        streamer = None if beams else TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling = params.temperature > 0
        kwargs = dict(
            input_ids=input_ids.to(self.loaded.device),
            attention_mask=torch.ones_like(input_ids).to(self.loaded.device),
            max_new_tokens=max_new, min_new_tokens=min(params.min_tokens, max_new), do_sample=sampling,
            num_beams=params.num_beams, streamer=streamer, stopping_criteria=StoppingCriteriaList([Cancelled()]),
            pad_token_id=self.tokenizer.pad_token_id,
            **{k: _on_model(v, self.loaded.model) for k, v in extra_inputs.items()},
        )
        if params.repetition_penalty != 1.0:
            kwargs["repetition_penalty"] = params.repetition_penalty
        if sampling:
            kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=params.top_k)
        else:  # keep the model's generation_config sampling defaults out of greedy decoding
            kwargs.update(temperature=None, top_p=None, top_k=None)
        output: dict = {}
        errors: list[BaseException] = []

        def generate():
            try:
                with torch.inference_mode():
                    output["ids"] = self.loaded.model.generate(**kwargs)
            except BaseException as exc:  # surfaced to the request thread below
                errors.append(exc)
                if streamer is not None:
                    streamer.end()

        scanner = StopScanner(params.stop)
        with self.lock:
            worker = threading.Thread(target=generate, daemon=True)
            worker.start()
            try:
                if streamer is None:
                    worker.join()
                    new = output["ids"][0, input_ids.shape[1]:] if "ids" in output else []
                    deltas = [self.tokenizer.decode(new, skip_special_tokens=True)]
                else:
                    deltas = streamer
                for delta in deltas:
                    text = scanner.feed(delta)
                    if text:
                        yield text
                    if scanner.stopped:
                        cancel.set()
                tail = scanner.flush()
                if tail:
                    yield tail
            finally:
                cancel.set()  # also when the client went away mid-stream
                worker.join()
        if errors:
            raise errors[0]
        new_ids = output["ids"][0, input_ids.shape[1]:].tolist()
        result.usage.completion_tokens = len(new_ids)
        ended_on_eos = bool(new_ids) and new_ids[-1] in _eos_ids(self.loaded.model, self.tokenizer)
        if not scanner.stopped and not ended_on_eos and len(new_ids) >= max_new:
            result.finish_reason = "length"


def _on_model(tensor, model):
    """Move an input to the model's device; pixel values also take its dtype (bf16 on GPU)."""
    if tensor.is_floating_point():
        return tensor.to(model.device, dtype=model.dtype)
    return tensor.to(model.device)


def _eos_ids(model, tokenizer) -> set[int]:
    eos = model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


class TransformersClassifier:
    """Answers a chat with the top label; the probabilities of every label ride along."""

    def __init__(self, loaded: LoadedModel):
        self.loaded = loaded
        self.lock = threading.Lock()
        # Longer texts are cut to what the model can read (position embeddings, tokenizer limit).
        positions = getattr(loaded.model.config, "max_position_embeddings", None) or 512
        tokenizer_limit = getattr(loaded.tokenizer, "model_max_length", None) or positions
        self.max_positions = int(min(positions, tokenizer_limit))

    def classify(self, messages: list[dict]) -> tuple[str, dict[str, float], Usage]:
        import torch

        users = [m for m in messages if m["role"] == "user"]
        if not users:
            raise RequestError("a classification model needs a user message to classify", "messages")
        content = users[-1].get("content")
        usage = Usage()
        if self.loaded.kind == CLASSIFY_IMAGE:
            images = message_images(content, f"messages.{messages.index(users[-1])}")
            if not images:
                raise RequestError("an image classifier needs an image_url part in the last user message",
                                   "messages")
            inputs = self.loaded.image_processor(images=images[:1], return_tensors="pt")
        else:
            text = message_text(content)
            if not text.strip():
                raise RequestError("a text classifier needs text in the last user message", "messages")
            inputs = self.loaded.tokenizer(text, return_tensors="pt", truncation=True, max_length=self.max_positions)
            usage.prompt_tokens = int(inputs["input_ids"].shape[1])
        inputs = {k: v.to(self.loaded.device) for k, v in inputs.items()}
        with self.lock, torch.inference_mode():
            logits = self.loaded.model(**inputs).logits[0].float()
        probs = torch.softmax(logits, dim=-1).tolist()
        named = {self.loaded.labels.get(i, str(i)): p for i, p in enumerate(probs)}
        top = max(named, key=named.get)
        return top, named, usage
