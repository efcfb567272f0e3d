"""A stored judge API key is bound to the URL it was entered for (issue 9, item 12).

The attack: save Settings with a new judge URL and the key left blank. Before, the next
judge run sent ``Authorization: Bearer <stored key>`` to the new host. Here a real judge
client in a subprocess, given the run environment the supervisor builds, talks to a local
HTTP server that records the Authorization header it receives.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from studio.runner.supervisor import Supervisor
from studio.services.app_settings import save_settings
from studio.services.judge_endpoint import (
    JUDGE_KEY_SECRET, JUDGE_URL_SETTING, judge_environment, save_judge_endpoint,
)
from studio.store import Store, StoreError

ROOT = Path(__file__).resolve().parents[2]
STORED_KEY = "sk-stored-judge-key-0123456789"


class RecordingJudge(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_POST(self):  # noqa: N802 (the http.server API)
        RecordingJudge.seen.append(self.headers.get("Authorization", ""))
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "judge",
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": "5"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def judge_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingJudge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    RecordingJudge.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def ask_judge_as_a_run_would(store: Store, home: Path) -> str:
    """One request from the engine's judge client, in its own process, with the run's environment."""
    env = {**os.environ, **Supervisor(store, home, gpus=[]).launcher._environment([])}  # as the local executor does
    code = ("from training.metrics.llm_judge import _client\n"
            "_client(10).chat.completions.create(model='judge', messages=[{'role': 'user', 'content': 'hi'}])\n")
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=120)
    return RecordingJudge.seen[-1]


def test_new_url_with_a_blank_key_never_sends_the_stored_key(studio_home, judge_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-app-own-environment-key")  # meant for the app's own endpoint
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    store = Store(studio_home)
    assert save_judge_endpoint(store, "https://judge.example.com/v1", STORED_KEY) == "saved"
    assert judge_environment(store)["OPENAI_API_KEY"] == STORED_KEY

    outcome = save_judge_endpoint(store, judge_server, key="")  # the attack: new host, key left blank
    assert outcome == "dropped"
    assert store.secrets.get(JUDGE_KEY_SECRET) is None
    header = ask_judge_as_a_run_would(store, studio_home)
    assert STORED_KEY not in header and "sk-app-own-environment-key" not in header
    assert header == "Bearer not-needed"

    save_judge_endpoint(store, judge_server, key="sk-key-for-the-new-host-000")
    assert ask_judge_as_a_run_would(store, studio_home) == "Bearer sk-key-for-the-new-host-000"


def test_same_url_with_a_blank_key_keeps_it_and_remove_removes_it(studio_home):
    store = Store(studio_home)
    save_judge_endpoint(store, "http://127.0.0.1:9/v1", STORED_KEY)
    assert save_judge_endpoint(store, " http://127.0.0.1:9/v1 ", "") == "kept"
    assert store.secrets.get(JUDGE_KEY_SECRET) == STORED_KEY
    assert save_judge_endpoint(store, "http://127.0.0.1:9/v1", "", remove_key=True) == "removed"
    assert store.secrets.get(JUDGE_KEY_SECRET) is None
    assert STORED_KEY not in (studio_home / "db.json").read_text()


def test_url_changed_behind_the_service_does_not_get_the_key(studio_home):
    store = Store(studio_home)
    save_judge_endpoint(store, "https://judge.example.com/v1", STORED_KEY)
    store.settings.set(JUDGE_URL_SETTING, "https://elsewhere.example.net/v1")  # not through Settings
    env = judge_environment(store)
    assert env["OPENAI_BASE_URL"] == "https://elsewhere.example.net/v1"
    assert env.get("OPENAI_API_KEY") == ""


def test_settings_page_save_says_the_key_was_dropped_and_checks_every_field_first(studio_home):
    store = Store(studio_home)
    save_settings(store, price=1.0, max_concurrent=2, judge_url="https://a.example/v1", judge_key=STORED_KEY)
    message = save_settings(store, price=1.0, max_concurrent=2, judge_url="https://b.example/v1", judge_key="")
    assert "removed" in message and "previous URL" in message
    before = store.settings.all()
    for bad, field in ((dict(price=float("nan")), "Price per GPU-hour"), (dict(price=-1), "Price per GPU-hour"),
                       (dict(max_concurrent=0.5), "Max concurrent runs"),
                       (dict(hung_timeout=float("inf")), "Hung-run timeout"),
                       (dict(judge_url="ftp://x"), "judge base URL"),
                       (dict(judge_url="https://x\x00.example"), "judge base URL"),
                       (dict(judge_url="https://x\ud800.example"), "judge base URL"),
                       (dict(hf_token="hf_abc\ndef"), "Hugging Face token"),
                       (dict(judge_key="sk-\ud800"), "judge API key")):
        values = {"price": 3.0, "max_concurrent": 4, "judge_url": "https://c.example/v1", **bad}
        with pytest.raises(StoreError, match=field):
            save_settings(store, **values)
        assert store.settings.all() == before  # nothing half saved
