"""A real local Ray head (GCS, raylet, dashboard with the Jobs API) for the ray executor's tests.

Started with ``ray start --head --block`` in its own session, so teardown can end exactly
the processes it started (``ray stop`` would end every Ray on the machine).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_S = 300.0


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _ray_cli() -> list[str]:
    ray = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    return [ray] if Path(ray).exists() else [sys.executable, "-m", "ray.scripts.scripts"]


def _ready(address: str) -> bool:
    """The head takes jobs: a no-op job ran to SUCCEEDED."""
    from ray.job_submission import JobSubmissionClient
    try:
        client = JobSubmissionClient(address)
        job = client.submit_job(entrypoint=f"{sys.executable} -c pass", entrypoint_num_cpus=0.1)
    except Exception:
        return False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if client.get_job_status(job).is_terminal():
            return True
        time.sleep(0.5)
    return False


ATTEMPTS = 3


@contextmanager
def local_ray_head(num_cpus: int = 2):
    """Yield the dashboard address (``http://127.0.0.1:PORT``) of a fresh head; end it afterwards.

    On a loaded machine Ray's raylet can give up on its dashboard agent (a fixed 15 s wait
    for the agent's port file, ray-project/ray#65983); a fresh attempt then usually starts.
    """
    failures = []
    for _ in range(ATTEMPTS):
        try:
            head = _start_head(num_cpus)
        except RuntimeError as exc:
            failures.append(str(exc))
            continue
        address, process, temp_dir, log = head
        try:
            yield address
        finally:
            _end_group(process)
            log.close()
            shutil.rmtree(temp_dir, ignore_errors=True)
        return
    raise RuntimeError(f"the local Ray head did not start in {ATTEMPTS} attempts:\n" + failures[-1])


def _start_head(num_cpus: int):
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's socket paths must stay short
    gcs_port, dashboard_port, client_port = free_ports(3)
    address = f"http://127.0.0.1:{dashboard_port}"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0",
           # On a loaded machine the dashboard agent can take longer than Ray's default to register.
           "RAY_agent_register_timeout_ms": "180000"}
    log = open(Path(temp_dir) / "ray-start.log", "wb")
    head = subprocess.Popen(
        [*_ray_cli(), "start", "--head", "--block", "--disable-usage-stats", "--dashboard-host", "127.0.0.1",
         "--port", str(gcs_port), "--dashboard-port", str(dashboard_port), "--num-cpus", str(num_cpus),
         "--include-dashboard", "true", "--ray-client-server-port", str(client_port), "--temp-dir", temp_dir],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _ready(address):
        if head.poll() is not None or time.monotonic() > deadline:
            log.flush()
            output = (Path(temp_dir) / "ray-start.log").read_text(errors="replace")[-3000:]
            _end_group(head)
            log.close()
            shutil.rmtree(temp_dir, ignore_errors=True)
            raise RuntimeError(output)
        time.sleep(2)
    return address, head, temp_dir, log


def _end_group(head: subprocess.Popen) -> None:
    for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            return
        try:
            head.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            try:
                os.killpg(head.pid, signal.SIGKILL)  # whatever Ray left behind in the group
            except ProcessLookupError:
                pass
        return
