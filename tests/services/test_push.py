"""Push to Hub against a local stand-in for the Hub API (HF_ENDPOINT): files arrive, the token never leaks."""
from __future__ import annotations

import base64
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from studio.services.push import PushError, push_experiment
from studio.store import Store

TOKEN = "hf_testTokenThatMustNeverLeak123"


class FakeHub(BaseHTTPRequestHandler):
    """The four routes huggingface_hub's create_repo + create_commit call (see hf_api/_commit_api)."""

    repos: dict[str, dict] = {}
    requests: list[str] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def _reply(self, status: int, body: dict, headers: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self):
        self.requests.append(f"GET {self.path}")
        self._reply(404, {"error": "Repository not found"}, {"X-Error-Code": "RepositoryNotFound"})

    def do_POST(self):
        self.requests.append(f"POST {self.path}")
        body = self._body()
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._reply(401, {"error": "Invalid credentials in Authorization header"})
        if self.path == "/api/repos/create":
            payload = json.loads(body)
            if payload["organization"] != "me":
                return self._reply(403, {"error": "You don't have the rights to create a model under this namespace"})
            repo = f"{payload['organization']}/{payload['name']}"
            if repo in self.repos:
                return self._reply(409, {"error": "You already created this model repo", "url": f"http://{self.headers['Host']}/{repo}"})
            self.repos[repo] = {"visibility": payload.get("visibility"), "files": {}}
            return self._reply(200, {"url": f"http://{self.headers['Host']}/{repo}"})
        if self.path == "/api/validate-yaml":
            return self._reply(200, {"errors": [], "warnings": []})
        parts = self.path.split("/")  # /api/models/<ns>/<name>/<preupload|commit>/<revision>
        repo = f"{parts[3]}/{parts[4]}"
        if parts[5] == "preupload":
            files = json.loads(body)["files"]
            return self._reply(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                               for f in files]})
        if parts[5] == "commit":
            for line in body.decode().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    self.repos[repo]["files"][item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            return self._reply(200, {"commitUrl": f"http://{self.headers['Host']}/{repo}/commit/abc", "commitOid": "a" * 40})
        self._reply(404, {"error": f"no route {self.path}"})


@pytest.fixture()
def hub(monkeypatch):
    FakeHub.repos, FakeHub.requests = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield FakeHub
    server.shutdown()


@pytest.fixture()
def run_with_model(studio_home, tiny_llama_dir):
    store = Store(studio_home)
    dataset = store.datasets.add({"name": "capitals-qa"})
    experiment = store.experiments.add({"name": "my-run", "dataset_id": dataset["id"], "status": "Completed"})
    run = studio_home / "runs" / experiment["id"]
    shutil.copytree(tiny_llama_dir, run / "checkpoint" / "model")
    (run / "checkpoint" / "adapter").mkdir()
    (run / "checkpoint" / "adapter" / "adapter_config.json").write_text('{"base_model_name_or_path": "x"}')
    (run / "checkpoint" / "adapter" / "adapter_model.safetensors").write_bytes(b"weights")
    (run / "config.yaml").write_text(yaml.safe_dump({
        "problem_type": "text_causal_language_modeling", "llm_backbone": "h2oai/h2o-danube3-500m-chat",
        "training": {"learning_rate": 0.0001, "epochs": 1, "lora_rank": 4},
        "architecture": {"training_mode": "lora"}}))
    (run / "final_metrics.json").write_text(json.dumps({"Perplexity": 12.5, "BLEU": 3.25}))
    return store, experiment["id"], run


def test_push_merged_model_uploads_weights_tokenizer_and_card(hub, run_with_model, studio_home):
    store, experiment_id, run = run_with_model
    store.secrets.set("hf_token", TOKEN)
    events = []
    url = push_experiment(store, experiment_id, "me/tiny", progress=lambda f, m: events.append((f, m)))
    assert url.endswith("me/tiny")
    repo = hub.repos["me/tiny"]
    assert repo["visibility"] == "private"
    expected = {p.name for p in (run / "checkpoint" / "model").iterdir()} | {"README.md"}
    assert set(repo["files"]) == expected
    assert repo["files"]["config.json"] == (run / "checkpoint" / "model" / "config.json").read_bytes()
    card = repo["files"]["README.md"].decode()
    front = yaml.safe_load(card.split("---")[1])
    assert front["base_model"] == "h2oai/h2o-danube3-500m-chat" and front["library_name"] == "transformers"
    assert "capitals-qa" in card and "Perplexity" in card and "12.5000" in card and "lora_rank" in card
    assert events and events[-1][0] == 1.0
    assert TOKEN not in json.dumps(events)
    assert TOKEN not in (studio_home / "db.json").read_text()


def test_push_adapter_brings_the_tokenizer_along(hub, run_with_model):
    store, experiment_id, _ = run_with_model
    push_experiment(store, experiment_id, "me/tiny-adapter", token=TOKEN, what="adapter")
    files = set(hub.repos["me/tiny-adapter"]["files"])
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "README.md"} <= files
    assert "model.safetensors" not in files


def test_pushing_into_someone_elses_namespace_is_a_clear_error_without_the_token(hub, run_with_model, monkeypatch):
    store, experiment_id, _ = run_with_model
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with pytest.raises(PushError, match="cannot create or write to someone/model") as info:
        push_experiment(store, experiment_id, "someone/model")
    assert TOKEN not in str(info.value)


def test_rejected_token_and_missing_token_are_explained(hub, run_with_model):
    store, experiment_id, _ = run_with_model
    with pytest.raises(PushError, match="token was rejected") as info:
        push_experiment(store, experiment_id, "me/tiny", token="hf_wrongTokenValue999")
    assert "hf_wrongTokenValue999" not in str(info.value)
    with pytest.raises(PushError, match="no Hugging Face token"):
        push_experiment(store, experiment_id, "me/tiny")
