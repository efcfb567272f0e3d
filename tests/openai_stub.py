"""For the tests of Ask KGM and the judge: an OpenAI-compatible chat server on localhost whose replies the test scripts.

``with stub_model(reply) as server:`` serves ``reply`` (a dict is sent as JSON text, a str as it
is) as the assistant's message to every /v1/chat/completions request, or answers HTTP
``server.status`` when that is set; ``server.requests`` keeps each request's body and headers.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def send_chat_completion(handler: BaseHTTPRequestHandler, model: str, content: str, status: int = 200) -> None:
    """Answer the request as an OpenAI-compatible server: ``content`` as the assistant's message,
    or an error body when ``status`` is not 200."""
    if status != 200:
        reply = {"error": {"message": "scripted failure"}}
    else:
        reply = {"id": "stub", "object": "chat.completion", "created": 0, "model": model,
                 "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
                                                                              "content": content}}]}
    data = json.dumps(reply).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        reply = self.server.reply
        send_chat_completion(self, body["model"], json.dumps(reply) if isinstance(reply, dict) else str(reply),
                             self.server.status)

    def log_message(self, *args):
        pass


@contextmanager
def stub_model(reply) -> Iterator[ThreadingHTTPServer]:
    """The server, with ``server.base_url`` its /v1 address; shut down on the way out."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.reply, server.status, server.requests = reply, 200, []
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
