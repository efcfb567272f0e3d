"""Send hostile HTTP to a real studio.serve process and check how it answers (helpers of the tests)."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import psutil

# Whatever a request holds, the answer comes within this (a 2-core machine shared with other jobs).
TIME_LIMIT_S = 10.0
ERROR_KEYS = {"message", "type", "param", "code"}


@dataclass
class Tally:
    """Cases tried per class and how they were answered; printed at the end of the session."""
    by_class: dict[str, Counter] = field(default_factory=dict)

    def add(self, case_class: str, status: int) -> None:
        self.by_class.setdefault(case_class, Counter())[status // 100 * 100] += 1

    def server_errors(self) -> int:
        return sum(c[500] for c in self.by_class.values())

    def report(self) -> str:
        lines = [f"{name}: {sum(c.values())} cases, " + ", ".join(f"{k // 100}xx: {v}" for k, v in sorted(c.items()))
                 for name, c in sorted(self.by_class.items())]
        return "hostile requests against studio.serve\n  " + "\n  ".join(lines)


def headers(server, content_type: str | None = "application/json") -> dict:
    out = {"Authorization": f"Bearer {server['api_key']}"}
    if content_type:
        out["Content-Type"] = content_type
    return out


def post(server, body: bytes, *, content_type: str | None = "application/json",
         path: str = "/v1/chat/completions") -> tuple[httpx.Response, float]:
    started = time.monotonic()
    with httpx.Client(timeout=TIME_LIMIT_S * 3) as client:
        response = client.post(server["root"] + path, content=body, headers=headers(server, content_type))
        response.read()
    return response, time.monotonic() - started


def check_answer(response: httpx.Response, seconds: float, what: str) -> None:
    """No 5xx, in bounded time; a refusal is an OpenAI-style error; a stream carries no server error."""
    assert response.status_code < 500, f"{what}: HTTP {response.status_code}: {response.text[:500]}"
    assert seconds < TIME_LIMIT_S, f"{what}: answered in {seconds:.1f}s"
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, f"{what}: {response.text[:300]}"
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
        assert len(response.content) < 4096, f"{what}: a {len(response.content)}-byte error body"
    elif response.headers.get("content-type", "").startswith("text/event-stream"):
        assert "server_error" not in response.text, f"{what}: {response.text[-500:]}"


def rss(server) -> int:
    return psutil.Process(server["process"].pid).memory_info().rss


def raw_exchange(port: int, head: bytes, chunks=(), timeout: float = 30.0) -> dict:
    """Write a request by hand (headers, then body chunks) while a reader waits for the answer.

    The server may answer and close before the body is sent: the reader keeps the answer even
    when the writer then hits a reset connection.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    received = bytearray()
    answered = threading.Event()

    def read():
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                received.extend(data)
                if b"\r\n\r\n" in received:
                    answered.set()
        except OSError:
            pass
        answered.set()

    reader = threading.Thread(target=read, daemon=True)
    started = time.monotonic()
    reader.start()
    sent = 0
    try:
        sock.sendall(head)
        for chunk in chunks:
            if answered.is_set():
                break
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # the server refused the rest of the body and closed
    answered.wait(timeout)
    seconds = time.monotonic() - started
    reader.join(5)
    sock.close()
    head_text, _, body = bytes(received).partition(b"\r\n\r\n")
    status = int(head_text.split(b" ")[1]) if head_text.startswith(b"HTTP/") else 0
    return {"status": status, "body": body, "seconds": seconds, "sent": sent}


def json_body(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()
