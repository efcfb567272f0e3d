"""One real ``python -m studio.serve`` process on the tiny Llama, shared by the serve and judge tests."""
from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def serving(model: Path, served_name: str, log: Path, api_key: str | None = API_KEY, extra_args=()):
    """``python -m studio.serve`` on ``model`` (CPU) until the block ends; yields its URLs and process."""
    port = free_port()
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(ROOT))
    env.pop("STUDIO_SERVE_API_KEY", None)
    if api_key:
        env["STUDIO_SERVE_API_KEY"] = api_key
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "studio.serve", "--model", str(model), "--port", str(port),
             "--served-name", served_name, "--device", "cpu", *extra_args],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(f"{base}/health", process, log)
        yield {"base_url": f"{base}/v1", "root": base, "api_key": api_key, "model": served_name,
               "process": process, "log": log, "port": port}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def served_llama(tiny_llama_dir, tmp_path_factory):
    with serving(tiny_llama_dir, "tiny-llama", tmp_path_factory.mktemp("serve") / "serve.log") as server:
        yield server


@pytest.fixture(scope="session")
def served_vit(tiny_vit_dir, tmp_path_factory):
    """The tiny ViT image classifier, served: the image-decoding paths of the API."""
    with serving(tiny_vit_dir, "tiny-vit", tmp_path_factory.mktemp("serve-vit") / "serve.log") as server:
        yield server
