"""One pairwise evaluation, in its own process: ``python -m studio.services.pairwise_worker EVAL_DIR``.

Reads ``EVAL_DIR/request.json``, serves each model in turn with ``python -m studio.serve`` (the
same server, chat template and generation path as a deployment, so what is judged is what would
be shipped), asks both for an answer to every prompt, then asks the judge (the OpenAI-compatible
endpoint in OPENAI_BASE_URL / OPENAI_API_KEY) about each pair in both orders. Writes
``status.json`` as it goes, ``verdicts.parquet`` (one row per prompt) and ``result.json``.
"""
from __future__ import annotations

import json
import os
import secrets
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from studio.atomic_io import write_json_atomic
from studio.services import pairwise_judge as pj
from studio.services import serve_process

SERVER_START_TIMEOUT_S = 600.0
REQUEST_TIMEOUT_S = 300.0
JUDGE_WORKERS = 4
JUDGE_MAX_TOKENS = 1024


class EvaluationFailed(RuntimeError):
    """A reason the user can act on; it becomes status.json's error."""


def write_status(eval_dir: Path, status: str, progress: float, stage: str, error: str | None = None) -> None:
    write_json_atomic(eval_dir / "status.json", {"status": status, "progress": round(progress, 3), "stage": stage,
                                                 "error": error, "pid": os.getpid(), "updated": time.time()})


def answers_from_server(eval_dir: Path, side: str, model_dir: str, prompts: list[str], generation: dict,
                        report) -> list[str]:
    """Start studio.serve on ``model_dir``, answer every prompt, stop it (also on failure)."""
    from openai import OpenAI

    port, key = serve_process.free_port(), secrets.token_urlsafe(16)
    log = eval_dir / f"{side}-serve.log"
    process = serve_process.launch(Path(model_dir), port, side, log, api_key=key)
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        _wait_healthy(process, port, log, side)
        client = OpenAI(base_url=base_url, api_key=key, timeout=REQUEST_TIMEOUT_S, max_retries=1)
        answers = []
        for i, prompt in enumerate(prompts):
            reply = client.chat.completions.create(model=side, messages=[{"role": "user", "content": prompt}],
                                                   **generation)
            answers.append((reply.choices[0].message.content or "").strip())
            report((i + 1) / len(prompts))
        return answers
    finally:
        serve_process.stop_group(process.pid)


def _wait_healthy(process, port: int, log: Path, side: str) -> None:
    import httpx

    deadline = time.time() + SERVER_START_TIMEOUT_S
    while time.time() < deadline:
        if process.poll() is not None:
            tail = serve_process.log_tail(log, 5)
            raise EvaluationFailed(f"the {side} model's server stopped while loading: {tail}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise EvaluationFailed(f"the {side} model's server did not start within {SERVER_START_TIMEOUT_S:.0f}s")


def judge_all(prompts, candidate, baseline, judge_model: str, report) -> list[dict]:
    """Both orders for every prompt; each row holds the two verdicts, the outcome and the judge's reasons."""
    from training.metrics.llm_judge import JudgeUnavailable, _ask, _client, _Fatal, _Transient

    client = _client(REQUEST_TIMEOUT_S)

    def ask(i: int, candidate_first: bool) -> str:
        a, b = (candidate[i], baseline[i]) if candidate_first else (baseline[i], candidate[i])
        return _ask(client, judge_model, pj.judge_prompt(prompts[i], a, b), 3, 1.0, JUDGE_MAX_TOKENS)

    try:  # the first ask alone: an unusable judge fails once, not once per prompt
        first = ask(0, True)
    except (_Fatal, _Transient, JudgeUnavailable) as exc:
        raise EvaluationFailed(f"the judge could not be used: {exc}") from None
    jobs = [(i, order) for i in range(len(prompts)) for order in (True, False)][1:]
    replies = {(0, True): first}
    done = 0

    def run(job):
        nonlocal done
        try:
            reply = ask(*job)
        except (_Fatal, _Transient) as exc:
            reply = f"judge error: {exc}"
        done += 1
        report(done / max(1, len(jobs)))
        return job, reply

    with ThreadPoolExecutor(max_workers=JUDGE_WORKERS) as pool:
        replies.update(dict(pool.map(run, jobs)))
    rows = []
    for i, prompt in enumerate(prompts):
        one, two = replies[(i, True)], replies[(i, False)]
        v1, v2 = pj.parse_verdict(one), pj.parse_verdict(two)
        rows.append({"prompt": prompt, "candidate_answer": candidate[i], "baseline_answer": baseline[i],
                     "verdict_candidate_first": v1, "verdict_baseline_first": v2, "outcome": pj.outcome(v1, v2),
                     "reason_candidate_first": one, "reason_baseline_first": two})
    return rows


def run(eval_dir: Path) -> None:
    import pandas as pd

    request = json.loads((eval_dir / "request.json").read_text(encoding="utf-8"))
    prompts, generation = request["prompts"], request["generation"]
    answers = {}
    for index, side in enumerate((pj.CANDIDATE, pj.BASELINE)):
        write_status(eval_dir, "Running", 0.4 * index, f"answering with the {side} model")
        answers[side] = answers_from_server(
            eval_dir, side, request[side]["model_dir"], prompts, generation,
            lambda f, i=index, s=side: write_status(eval_dir, "Running", 0.4 * (i + f), f"answering with the {s} model"))
    write_status(eval_dir, "Running", 0.8, "judging")
    rows = judge_all(prompts, answers[pj.CANDIDATE], answers[pj.BASELINE], request["judge_model"],
                     lambda f: write_status(eval_dir, "Running", 0.8 + 0.2 * f, "judging"))
    pd.DataFrame(rows).to_parquet(eval_dir / "verdicts.parquet", index=False)
    result = pj.win_rate([r["outcome"] for r in rows]).as_dict()
    write_json_atomic(eval_dir / "result.json", {**result, "candidate": request["candidate"]["name"],
                                                 "baseline": request["baseline"]["name"],
                                                 "judge_model": request["judge_model"]})
    write_status(eval_dir, "Completed", 1.0, "done")


def main(argv: list[str]) -> int:
    eval_dir = Path(argv[0])
    try:
        run(eval_dir)
    except EvaluationFailed as exc:
        write_status(eval_dir, "Failed", 1.0, "failed", _scrub(str(exc)))
        return 1
    except Exception as exc:  # the page shows the reason; the traceback goes to the worker log
        traceback.print_exc()
        write_status(eval_dir, "Failed", 1.0, "failed", f"{type(exc).__name__}: {_scrub(str(exc))}")
        return 1
    return 0


def _scrub(text: str) -> str:
    key = os.environ.get("OPENAI_API_KEY")
    return text.replace(key, "***") if key else text


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
