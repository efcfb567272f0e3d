"""The engine command for a run: one process, or torchrun with one process per device."""
from __future__ import annotations

from pathlib import Path


def engine_argv(python: str, run_dir: Path) -> list[str]:
    return [python, "-m", "training", str(run_dir)]


def distributed(argv: list[str], processes: int) -> list[str]:
    """``argv`` (a Python command) under torchrun when ``processes`` > 1.

    ``--standalone`` makes torchrun pick a free rendezvous port on this machine, so
    several multi-process runs can start side by side; its process leads the run's
    process group, so Stop reaches every rank.
    """
    if processes <= 1:
        return list(argv)
    python, *rest = argv
    return [python, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *rest]


def with_resume(argv: list[str], resume: bool) -> list[str]:
    return [*argv, "--resume"] if resume else list(argv)
