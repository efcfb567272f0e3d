"""Start, find and stop ``python -m studio.serve`` processes (one process group each)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from studio.process_group import group_leader, kill_group, signal_group
from studio.serve import API_KEY_ENV

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def serve_command(model_dir: Path, port: int, served_name: str, host: str = "127.0.0.1",
                  device: str = "auto") -> list[str]:
    return [sys.executable, "-m", "studio.serve", "--model", str(model_dir), "--host", host,
            "--port", str(port), "--served-name", served_name, "--device", device]


def launch(model_dir: Path, port: int, served_name: str, log_path: Path, *, host: str = "127.0.0.1",
           api_key: str | None = None, gpu: str | None = None) -> subprocess.Popen:
    """Start a serving process in its own session, logging to ``log_path``."""
    env = dict(os.environ)
    env.pop(API_KEY_ENV, None)
    if api_key:
        env[API_KEY_ENV] = api_key  # env, not argv: argv shows in `ps`
    device = "auto"
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(gpu)
        device = "cuda:0"  # the one GPU left visible
    else:
        # No GPU chosen means CPU: hiding the GPUs keeps the process from grabbing GPU 0 by default.
        env["CUDA_VISIBLE_DEVICES"] = ""
        device = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(serve_command(model_dir, port, served_name, host, device),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=str(PROJECT_ROOT), env=env, start_new_session=True)


def is_our_server(pid: int | None, port: int | None) -> bool:
    """True when ``pid`` is alive, leads its own group and is studio.serve on ``port``.

    Pids get reused, so a live pid alone does not prove it is still our server.
    """
    leader = group_leader(pid)
    if leader is None:
        return False
    _, cmdline = leader
    # On a GPU studio.serve may have exec'd itself into vLLM's server: same pid, new command line.
    serving = "studio.serve" in cmdline or "vllm.entrypoints.openai.api_server" in cmdline
    return serving and (port is None or str(port) in cmdline)


def stop_group(pid: int | None, grace_s: float = 10.0) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left after ``grace_s``."""
    if not signal_group(pid, signal.SIGTERM):
        return
    deadline = time.time() + grace_s
    while time.time() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    kill_group(pid)
    _alive(pid)


def _alive(pid: int) -> bool:
    try:
        # Reap it if it is our child, so it does not linger as a zombie.
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def process_alive(pid: int | None) -> bool:
    return bool(pid) and _alive(int(pid))


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64_000))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
