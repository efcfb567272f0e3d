"""The engine's processes: one, or one per device under ``torchrun``.

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`from_environment` joins the
process group from them (nccl on CUDA, gloo on CPU). Only rank 0 writes the run folder; every
other rank gets :class:`RankLogs` (stderr only) and :class:`QuietStatus` (writes nothing), so the
recipe's loop is the same code on every rank.

A failure on any rank must reach status.json even though rank 0 may be blocked in a collective
and then killed by torchrun: the failing rank writes ``failed_rank<k>.txt`` (its one-line reason)
and, unless another rank failed first, status.json itself. The first failure in time is the one
reported, because the others (a closed connection, a collective timeout) are its consequences.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as torch_dist

from studio.atomic_io import write_atomic, write_json_atomic

# A rank stuck in a collective (its peer alive but wedged) fails after this long instead of
# hanging; long enough for rank-synchronous evaluation with generation on a large model.
COLLECTIVE_TIMEOUT = dt.timedelta(minutes=30)
FAILURE_GLOB = "failed_rank*.txt"


@dataclass
class Ranks:
    """Where this process stands: rank, world size and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def mean(self, value: float) -> float:
        """The mean of ``value`` over every rank (the value itself in one process)."""
        if not self.distributed:
            return value
        tensor = torch.tensor([float(value)], dtype=torch.float64, device=self.device)
        torch_dist.all_reduce(tensor)
        return float(tensor) / self.world_size

    def barrier(self) -> None:
        if self.distributed:
            torch_dist.barrier()

    def close(self) -> None:
        if self.distributed and torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def from_environment(run_dir: Path) -> Ranks:
    """Join the torchrun process group, or describe the single process when not under torchrun."""
    cuda = torch.cuda.is_available()
    if not launched_by_torchrun():
        return Ranks(device=torch.device("cuda" if cuda else "cpu"))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if rank == 0:
        # Failures of an earlier attempt (before --resume) are not this run's.
        for stale in Path(run_dir).glob(FAILURE_GLOB):
            stale.unlink(missing_ok=True)
    if cuda:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    torch_dist.init_process_group("nccl" if cuda else "gloo", timeout=COLLECTIVE_TIMEOUT,
                                  **({"device_id": device} if cuda else {}))
    return Ranks(rank=rank, world_size=world, local_rank=local_rank, device=device)


# ---- rank-aware outputs ----------------------------------------------------------------------
class QuietStatus:
    """status.json on ranks other than 0: nothing to write, rank 0 reports progress."""

    def update(self, status: str | None = None, **_) -> None:
        pass


class QuietMetrics:
    """metrics.jsonl on ranks other than 0."""

    def log(self, *args) -> None:
        pass

    def records(self) -> list[dict]:
        return []

    def close(self) -> None:
        pass


class RankLogs:
    """train.log / system.log on ranks other than 0: lines go to stderr (torchrun's log), tagged."""

    def __init__(self, rank: int):
        self.prefix = f"[rank {rank}] "

    def _print(self, message: str) -> None:
        print(self.prefix + message, file=sys.stderr, flush=True)

    def train(self, message: str) -> None:
        pass  # rank 0 tells the user the same story

    def system(self, message: str) -> None:
        self._print(message)

    warning = error = system

    def capture_warnings(self) -> None:
        pass

    def close(self) -> None:
        pass


# ---- failures ----------------------------------------------------------------------------
def record_failure(run_dir: Path, ranks: Ranks, reason: str) -> str:
    """Leave this rank's failure in the run folder; returns the reason status.json should carry.

    On rank 0 the caller writes status.json with the returned reason; any other rank writes it
    here, keeping rank 0's pid and start time, unless an earlier failure is already there.
    """
    run_dir = Path(run_dir)
    if not ranks.distributed:
        return reason
    write_atomic(run_dir / f"failed_rank{ranks.rank}.txt", reason)
    first = first_failure(run_dir) or f"rank {ranks.rank}: {reason}"
    if not ranks.is_main:
        status_path = run_dir / "status.json"
        try:
            state = json.loads(status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {"pid": os.getpid(), "started": None, "progress": 0.0}
        if state.get("status") != "Failed":
            state.update(status="Failed", stage="failed", error=" ".join(first.split())[:500],
                         updated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
            write_json_atomic(status_path, state)
    return first


def first_failure(run_dir: Path) -> str | None:
    """``"rank k: reason"`` of the earliest failure any rank recorded, or None."""
    files = sorted(Path(run_dir).glob(FAILURE_GLOB), key=lambda p: (p.stat().st_mtime_ns, p.name))
    for path in files:
        try:
            reason = path.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        return f"rank {path.stem.removeprefix('failed_rank')}: {reason}"
    return None
