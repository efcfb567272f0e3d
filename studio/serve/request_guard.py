"""The serving API's gate: the API key, then the body size, before anything reads or parses.

A plain ASGI middleware rather than a FastAPI one, so that it sees the request first: an
unauthenticated client gets its 401 without the server buffering a byte of its body, and a
body over the limit is refused from its Content-Length at once, or as soon as the bytes
streamed so far pass the limit (a chunked upload has no Content-Length).
"""
from __future__ import annotations

import hmac
import json

from starlette.exceptions import HTTPException

# Everything but the liveness probe needs the key, the API docs included.
OPEN_PATHS = {"/health"}


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` while the body streams in; FastAPI re-raises HTTPExceptions as they are."""

    def __init__(self, limit: int):
        super().__init__(413, too_large_message(limit))


def too_large_message(limit: int) -> str:
    return f"the request body is larger than {limit} bytes; send a smaller request (fewer or smaller images)"


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}}).encode()


class RequestGuard:
    def __init__(self, app, api_key: str | None, max_body_bytes: int):
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        if self.api_key and scope.get("path") not in OPEN_PATHS and not self._authorized(headers):
            return await _respond(send, 401, error_body(
                "Incorrect or missing API key: send 'Authorization: Bearer <key>'.",
                "invalid_request_error", code="invalid_api_key"))
        declared = _content_length(headers)
        if declared is not None and declared > self.max_body_bytes:
            return await _respond(send, 413, error_body(too_large_message(self.max_body_bytes),
                                                        "invalid_request_error", code="request_too_large"))
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await _respond(send, 413, error_body(too_large_message(self.max_body_bytes),
                                                 "invalid_request_error", code="request_too_large"))

    def _authorized(self, headers: dict) -> bool:
        header = headers.get("authorization", b"")
        given = header[7:] if header[:7].lower() == b"bearer " else b""
        return hmac.compare_digest(given, self.api_key)


def _content_length(headers: dict) -> int | None:
    raw = headers.get("content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


async def _respond(send, status: int, body: bytes) -> None:
    # Connection: close, as the client may still be sending a body this server will not read.
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
