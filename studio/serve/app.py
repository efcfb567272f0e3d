"""The FastAPI app: OpenAI-shaped /v1/models and /v1/chat/completions, plus /health."""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Iterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from studio.config import serving as limits

from .generation_defaults import GenerationDefaults
from .request_guard import RequestGuard
from .request_schema import ChatRequest, error_param
from .transformers_engine import (
    RequestError, SamplingParams, TransformersClassifier, TransformersGenerator, Usage,
)

log = logging.getLogger("studio.serve")
ERROR_TYPES = {401: "invalid_request_error", 404: "invalid_request_error", 405: "invalid_request_error",
               413: "invalid_request_error", 429: "rate_limit_error"}


def openai_error(status: int, message: str, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status,
                        content={"error": {"message": message, "type": type_, "param": param, "code": code}})


def create_app(engine: TransformersGenerator | TransformersClassifier, served_name: str,
               api_key: str | None = None, backend: str = "transformers",
               defaults: GenerationDefaults | None = None,
               max_body_bytes: int = limits.MAX_REQUEST_BYTES) -> FastAPI:
    # The API docs open only with the key (RequestGuard); a browser cannot send it, so with a key
    # they are effectively off. Without a key the whole API is open anyway.
    app = FastAPI(title=f"Studio serve: {served_name}")
    created = int(time.time())
    defaults = defaults or GenerationDefaults()
    app.add_middleware(RequestGuard, api_key=api_key, max_body_bytes=max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        # The deepest location names the field best (a union reports one error per branch).
        first = max(errors, key=lambda e: len(e.get("loc") or ())) if errors else {"loc": (), "msg": "invalid"}
        param = error_param(tuple(first.get("loc") or ())) or "messages"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        if first.get("type") == "json_invalid":
            param, message = None, "the body is not valid JSON"
        elif first.get("type") == "model_attributes_type" and param == "messages":
            param, message = None, 'the body must be a JSON object with "messages"'
            errors = [first]
        more = f" (and {len(errors) - 1} more problem{'s' * (len(errors) > 2)})" if len(errors) > 1 else ""
        return openai_error(400, f"{param}: {message}{more}" if param else message + more,
                            param=param, code="invalid_value")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "invalid request"
        if exc.status_code == 404:
            message = f"no route {request.url.path}; this server answers /v1/models and /v1/chat/completions"
        elif exc.status_code == 400:
            message = "the body cannot be parsed: send a JSON object"
        return openai_error(exc.status_code, message, ERROR_TYPES.get(exc.status_code, "invalid_request_error"))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.exception("studio.serve: %s %s failed", request.method, request.url.path)
        return openai_error(500, f"the server failed on this request ({type(exc).__name__})", "server_error")

    @app.get("/health")
    def health():
        return {"status": "ok", "model": served_name, "backend": backend}

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [
            {"id": served_name, "object": "model", "created": created, "owned_by": "studio",
             "studio_generation_defaults": defaults.as_dict()}]}

    @app.post("/v1/chat/completions")
    def chat_completions(body: ChatRequest):
        if body.n != 1:
            return openai_error(400, "n: this server returns one choice per request; send n=1.",
                                param="n", code="invalid_value")
        if body.model and body.model != served_name:
            return openai_error(404, f"model '{body.model}' is not served here; this server serves "
                                f"'{served_name}' (see GET /v1/models).", param="model", code="model_not_found")
        messages = [m.as_dict() for m in body.messages]
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        try:
            if isinstance(engine, TransformersClassifier):
                label, probs, usage = engine.classify(messages)
                response = _completion(completion_id, served_name, label, "stop", usage)
                response["studio_probabilities"] = probs
                if body.stream:
                    return _sse(_single_chunk_stream(completion_id, served_name, label, probs, usage, body))
                return response
            params = SamplingParams.resolve(
                defaults, stop=body.stop_list(), max_tokens=body.max_completion_tokens or body.max_tokens,
                min_tokens=body.min_tokens, temperature=body.temperature, top_p=body.top_p, top_k=body.top_k,
                repetition_penalty=body.repetition_penalty, num_beams=body.num_beams)
            stream = engine.stream(messages, params)
        except RequestError as exc:
            return openai_error(400, f"{exc.param}: {exc}" if exc.param else str(exc), param=exc.param,
                                code="invalid_value")
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
