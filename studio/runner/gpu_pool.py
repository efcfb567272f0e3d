"""The machine's GPUs, who holds them, and how many devices and processes a run gets.

Policy (strict FIFO with head-of-line reservation): the run at the head of the queue
starts as soon as the GPUs it asks for are free; while it waits, no run behind it
starts, even one that would fit. A stream of 1-GPU runs therefore can never starve a
4-GPU run; the cost is GPUs left idle while the head waits for enough of them. GPUs are
exclusive: a run holds its GPUs until its process group is gone.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DevicePlan:
    num_gpus: int  # GPUs to allocate (0: a CPU run)
    num_processes: int  # training processes (ranks): one per GPU, or as asked on CPU


def plan_devices(requested_gpus: int, machine_has_gpus: bool) -> DevicePlan:
    """One process per GPU; without GPUs the same count of CPU processes (gloo), as CI uses."""
    requested = max(1, int(requested_gpus))
    return DevicePlan(requested if machine_has_gpus else 0, requested)


class GpuPool:
    def __init__(self, gpus: list[str]):
        self.gpus = list(gpus)
        self._held: dict[str, list[str]] = {}

    def free(self) -> list[str]:
        busy = {gpu for held in self._held.values() for gpu in held}
        return [gpu for gpu in self.gpus if gpu not in busy]

    def can_ever_fit(self, count: int) -> bool:
        return count <= len(self.gpus)

    def take(self, experiment_id: str, count: int) -> list[str] | None:
        """``count`` free GPUs (lowest indices first) now held by the run, or None if too few are free."""
        if count == 0:
            return []
        free = self.free()
        if len(free) < count:
            return None
        self._held[experiment_id] = free[:count]
        return list(self._held[experiment_id])

    def hold(self, experiment_id: str, gpus: list[str]) -> None:
        """Mark GPUs a reattached run already uses."""
        self._held[experiment_id] = [gpu for gpu in gpus if gpu in self.gpus]

    def release(self, experiment_id: str) -> None:
        self._held.pop(experiment_id, None)
