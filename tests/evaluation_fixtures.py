"""For the win-rate tests: a scripted OpenAI-compatible judge and a completed experiment's run folder."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import yaml

from studio import paths
from tests.openai_stub import send_chat_completion


class ScriptedJudge(BaseHTTPRequestHandler):
    """An OpenAI-compatible judge: "Verdict: A" for prompts that mention bias (always the first answer),
    "tie" for prompts that mention tie, otherwise the answer that sorts last wins (the same answer in
    both orders)."""

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body["messages"][-1]["content"]
        request = text.split("Request:\n", 1)[1].split("\n\nAnswer A:\n", 1)[0]
        a = text.split("Answer A:\n", 1)[1].split("\n\nAnswer B:\n", 1)[0]
        b = text.split("Answer B:\n", 1)[1].split("\n\nReply with", 1)[0]
        if "bias" in request:
            verdict = "A"
        elif "tie" in request:
            verdict = "tie"
        else:
            verdict = "A" if a > b else "B" if b > a else "tie"
        send_chat_completion(self, body["model"], f"Verdict: {verdict}\nscripted")

    def log_message(self, *args):
        pass


@contextmanager
def scripted_judge() -> Iterator[str]:
    """The ScriptedJudge on a free localhost port; yields its /v1 base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedJudge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


PROMPTS = ["Reverse the word: fish", "What is 2 + 3?", "a bias test prompt", "call it a tie", "Capitalize: snow"]


def completed_experiment(store, home, base_dir, seed: int) -> dict:
    """A completed Causal LM experiment whose run folder holds what a finished run leaves for this feature."""
    from training.tiny_models import build_llama

    row = store.experiments.add({"name": f"tuned-{seed}", "status": "Completed",
                                 "problem_type": "text_causal_language_modeling"})
    run = paths.run_dir(row["id"], home)
    build_llama(run / "checkpoint" / "model", seed=seed)
    (run / "config.yaml").write_text(yaml.safe_dump({"llm_backbone": str(base_dir),
                                                     "prediction": {"max_length_inference": 6}}))
    pd.DataFrame({"prompt": PROMPTS, "target": ["x"] * len(PROMPTS)}).to_parquet(run / "predictions.parquet")
    return row
