"""One real ``python -m studio.serve`` process on the tiny Llama, shared by the serve and judge tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from studio.services.serve_process import free_port

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk-test-serve-key-123456"


def wait_for_health(url: str, process: subprocess.Popen, log: Path, timeout: float = 180.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"studio.serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"studio.serve did not answer {url} in {timeout}s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def served_llama(tiny_llama_dir, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = dict(os.environ, STUDIO_SERVE_API_KEY=API_KEY, CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=str(ROOT))
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "studio.serve", "--model", str(tiny_llama_dir), "--port", str(port),
             "--served-name", "tiny-llama", "--device", "cpu"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(f"{base}/health", process, log)
        yield {"base_url": f"{base}/v1", "root": base, "api_key": API_KEY, "model": "tiny-llama",
               "process": process, "log": log}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
