"""The FastAPI app: OpenAI-shaped /v1/models and /v1/chat/completions, plus /health."""
from __future__ import annotations

import hmac
import json
import time
import uuid
from typing import Any, Iterator, Literal, Optional, Union

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from .transformers_engine import (
    RequestError, SamplingParams, TransformersClassifier, TransformersGenerator, Usage,
)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: Union[str, list[dict[str, Any]], None] = None


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    # Unknown OpenAI fields (presence_penalty, seed, ...) are accepted and ignored, as most servers do.
    model_config = ConfigDict(extra="allow")
    model: Optional[str] = None
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: Optional[int] = Field(None, ge=1)
    max_completion_tokens: Optional[int] = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    stop: Union[str, list[str], None] = None
    n: int = 1
    stream: bool = False
    stream_options: Optional[StreamOptions] = None


def openai_error(status: int, message: str, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status,
                        content={"error": {"message": message, "type": type_, "param": param, "code": code}})


def create_app(engine: TransformersGenerator | TransformersClassifier, served_name: str,
               api_key: str | None = None, backend: str = "transformers") -> FastAPI:
    app = FastAPI(title=f"Studio serve: {served_name}")
    created = int(time.time())

    @app.middleware("http")
    async def require_api_key(request: Request, call_next):
        if api_key and request.url.path.startswith("/v1"):
            header = request.headers.get("authorization", "")
            given = header[7:] if header.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(given.encode(), api_key.encode()):
                return openai_error(401, "Incorrect or missing API key: send 'Authorization: Bearer <key>'.",
                                    code="invalid_api_key")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"] if p != "body")
        return openai_error(400, f"{param}: {first['msg']}", param=param, code="invalid_value")

    @app.get("/health")
    def health():
        return {"status": "ok", "model": served_name, "backend": backend}

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [
            {"id": served_name, "object": "model", "created": created, "owned_by": "studio"}]}

    @app.post("/v1/chat/completions")
    def chat_completions(body: ChatRequest):
        if body.n != 1:
            return openai_error(400, "n: this server returns one choice per request; send n=1.",
                                param="n", code="invalid_value")
        if body.model and body.model != served_name:
            return openai_error(404, f"model '{body.model}' is not served here; this server serves "
                                f"'{served_name}' (see GET /v1/models).", param="model", code="model_not_found")
        messages = [m.model_dump() for m in body.messages]
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        try:
            if isinstance(engine, TransformersClassifier):
                label, probs, usage = engine.classify(messages)
                response = _completion(completion_id, served_name, label, "stop", usage)
                response["studio_probabilities"] = probs
                if body.stream:
                    return _sse(_single_chunk_stream(completion_id, served_name, label, probs, usage, body))
                return response
            stop = [body.stop] if isinstance(body.stop, str) else body.stop
            params = SamplingParams(max_tokens=body.max_completion_tokens or body.max_tokens,
                                    temperature=body.temperature, top_p=body.top_p, stop=stop)
            stream = engine.stream(messages, params)
        except RequestError as exc:
            return openai_error(400, str(exc), param=exc.param)
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return _sse(_chunks(completion_id, served_name, stream, include_usage))
        text = "".join(stream)
        return _completion(completion_id, served_name, text, stream.finish_reason, stream.usage)

    return app


def _completion(completion_id: str, model: str, text: str, finish_reason: str, usage: Usage) -> dict:
    return {
        "id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": finish_reason, "logprobs": None}],
        "usage": usage.as_dict(),
    }


def _chunk(completion_id: str, model: str, delta: dict, finish_reason: str | None = None, **extra) -> str:
    body = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                                         "logprobs": None}], **extra}
    return f"data: {json.dumps(body)}\n\n"


def _chunks(completion_id: str, model: str, stream, include_usage: bool) -> Iterator[str]:
    yield _chunk(completion_id, model, {"role": "assistant", "content": ""})
    try:
        for delta in stream:
            yield _chunk(completion_id, model, {"content": delta})
    except Exception as exc:  # the headers are sent already: report in-band, as OpenAI does
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'server_error'}})}\n\n"
        yield "data: [DONE]\n\n"
        return
    yield _chunk(completion_id, model, {}, stream.finish_reason)
    if include_usage:
        usage = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                 "model": model, "choices": [], "usage": stream.usage.as_dict()}
        yield f"data: {json.dumps(usage)}\n\n"
    yield "data: [DONE]\n\n"


def _single_chunk_stream(completion_id, model, label, probs, usage, body) -> Iterator[str]:
    yield _chunk(completion_id, model, {"role": "assistant", "content": label})
    yield _chunk(completion_id, model, {}, "stop", studio_probabilities=probs)
    if body.stream_options and body.stream_options.include_usage:
        yield f"data: {json.dumps({'id': completion_id, 'object': 'chat.completion.chunk', 'choices': [], 'model': model, 'usage': usage.as_dict()})}\n\n"
    yield "data: [DONE]\n\n"


def _sse(chunks: Iterator[str]) -> StreamingResponse:
    return StreamingResponse(chunks, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
