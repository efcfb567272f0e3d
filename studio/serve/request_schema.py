"""The /v1/chat/completions request, validated completely before it reaches the model.

Every part of a message is typed (a text part holds a string, an image part an object with a
``url``), so a malformed request is a 400 naming the field, never an exception inside the
engine. The bounds come from ``studio.config.serving``.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from studio.config import serving as limits

# Tags of the unions below; they (and pydantic's names of union members, "constrained-str") appear in
# error locations and are dropped from the field path a client sees (``messages.0.content.1.text``).
UNION_TAGS = {"string", "parts", "text part", "image part"}


def _text(max_chars: int):
    # pydantic refuses lone surrogates ("\\ud800" in the JSON) itself: no tokenizer could encode them.
    return Annotated[str, Field(max_length=max_chars)]


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: _text(limits.MAX_TEXT_CHARS)


class ImageUrl(BaseModel):
    model_config = ConfigDict(extra="ignore")
    # A data URI; its size is bounded by the request's byte limit.
    url: str
    detail: Optional[Literal["auto", "low", "high"]] = None


class ImagePart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["image_url"]
    image_url: ImageUrl


def _part_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return {"text": "text part", "image_url": "image part"}.get(kind) if isinstance(kind, str) else None


def _content_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "string"
    return "parts" if isinstance(value, list) else None


ContentPart = Annotated[
    Union[Annotated[TextPart, Tag("text part")], Annotated[ImagePart, Tag("image part")]],
    Discriminator(_part_kind, custom_error_type="invalid_content_part",
                  custom_error_message='a content part is an object with "type": "text" or "image_url"')]

Content = Annotated[
    Union[Annotated[_text(limits.MAX_TEXT_CHARS), Tag("string")],
          Annotated[list[ContentPart], Tag("parts"), Field(max_length=limits.MAX_CONTENT_PARTS)]],
    Discriminator(_content_kind, custom_error_type="invalid_content",
                  custom_error_message="content is a string or a list of content parts")]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: Optional[Content] = None

    def text_chars(self) -> int:
        if isinstance(self.content, str):
            return len(self.content)
        return sum(len(p.text) for p in self.content or [] if isinstance(p, TextPart))

    def image_count(self) -> int:
        return sum(isinstance(p, ImagePart) for p in self.content or []) if isinstance(self.content, list) else 0

    def as_dict(self) -> dict:
        """The plain OpenAI shape the engines read: role and content (a string or a list of dicts)."""
        content = self.content
        if isinstance(content, list):
            content = [p.model_dump(exclude_none=True) for p in content]
        return {"role": self.role, "content": content}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class ChatRequest(BaseModel):
    # Unknown OpenAI fields (presence_penalty, seed, ...) are accepted and ignored, as most servers do.
    model_config = ConfigDict(extra="allow")
    model: Optional[_text(limits.MAX_MODEL_NAME_CHARS)] = None
    messages: list[ChatMessage] = Field(min_length=1, max_length=limits.MAX_MESSAGES)
    # Omitted sampling settings take the server's defaults (the run's prediction.* settings).
    max_tokens: Optional[int] = Field(None, ge=1, le=limits.MAX_NEW_TOKENS)
    max_completion_tokens: Optional[int] = Field(None, ge=1, le=limits.MAX_NEW_TOKENS)
    temperature: Optional[float] = Field(None, ge=0.0, le=2.0, allow_inf_nan=False)
    top_p: Optional[float] = Field(None, gt=0.0, le=1.0, allow_inf_nan=False)
    # Extensions that vLLM's server also accepts.
    top_k: Optional[int] = Field(None, ge=0, le=1_000_000)
    min_tokens: Optional[int] = Field(None, ge=0, le=limits.MAX_NEW_TOKENS)
    repetition_penalty: Optional[float] = Field(None, gt=0.0, le=100.0, allow_inf_nan=False)
    num_beams: Optional[int] = Field(None, ge=1, le=limits.MAX_BEAMS)
    stop: Optional[Annotated[
        Union[Annotated[_text(limits.MAX_STOP_CHARS), Tag("string")],
              Annotated[list[_text(limits.MAX_STOP_CHARS)], Tag("parts"),
                        Field(max_length=limits.MAX_STOP_SEQUENCES)]],
        Discriminator(_content_kind, custom_error_type="invalid_stop",
                      custom_error_message="stop is a string or a list of strings")]] = None
    n: int = Field(1, ge=1, le=128)  # only 1 is served; the endpoint says so
    stream: bool = False
    stream_options: Optional[StreamOptions] = None

    @model_validator(mode="after")
    def _bounded_totals(self) -> "ChatRequest":
        chars = sum(m.text_chars() for m in self.messages)
        if chars > limits.MAX_TEXT_CHARS:
            raise ValueError(f"the messages hold {chars} characters of text; at most {limits.MAX_TEXT_CHARS} "
                             "are accepted per request")
        images = sum(m.image_count() for m in self.messages)
        if images > limits.MAX_IMAGES:
            raise ValueError(f"the messages hold {images} images; at most {limits.MAX_IMAGES} are accepted "
                             "per request")
        return self

    def stop_list(self) -> list[str] | None:
        return [self.stop] if isinstance(self.stop, str) else self.stop


def error_param(loc: tuple) -> str:
    """``("body", "messages", 0, "content", "parts", 1, "text part", "text")`` → ``messages.0.content.1.text``."""
    return ".".join(str(p) for p in loc
                    if isinstance(p, int) or (p != "body" and p not in UNION_TAGS and p.isidentifier()))
