"""Which GPUs this machine has, as the indices CUDA_VISIBLE_DEVICES understands."""
from __future__ import annotations

import shutil
import subprocess


def detect_gpus(timeout_s: float = 10.0) -> list[str]:
    """GPU indices reported by ``nvidia-smi``; an empty list means "train on CPU".

    A missing or broken driver is not an error here: the machine simply has no GPU
    Studio can use, and runs go to the CPU one at a time.
    """
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi is None:
        return []
    try:
        result = subprocess.run(
            [nvidia_smi, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if result.returncode != 0:
        return []
    return [line.strip() for line in result.stdout.splitlines() if line.strip().isdigit()]


def runs_get_gpus(executor, local_gpus: list[str]) -> bool:
    """Whether a run can get a GPU: from this machine's pool, or from the cluster that ``executor``
    places runs on (when it schedules GPUs itself)."""
    return executor.cluster_has_gpus() if executor.schedules_gpus else bool(local_gpus)
