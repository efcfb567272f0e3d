"""Where training jobs run: ``local`` processes (the default) or a ``ray`` cluster.

The choice is the ``executor`` setting, overridden by ``STUDIO_EXECUTOR``; the Ray
address is the ``ray_address`` setting, overridden by ``STUDIO_RAY_ADDRESS``.
"""
from __future__ import annotations

import os

from studio.config.runner_settings import EXECUTOR, EXECUTORS, RAY_ADDRESS

from .base import Executor, ExecutorError, Job, JobState, LaunchSpec
from .local import LocalExecutor
from .ray_jobs import RayExecutor

__all__ = ["Executor", "ExecutorError", "Job", "JobState", "LaunchSpec", "LocalExecutor", "RayExecutor",
           "chosen_executor", "make_executor"]


def chosen_executor(settings) -> str:
    name = (os.environ.get("STUDIO_EXECUTOR") or settings.get(EXECUTOR.key) or EXECUTOR.default).strip().lower()
    if name not in EXECUTORS:
        raise ExecutorError(f"unknown executor {name!r} (STUDIO_EXECUTOR or the executor setting); "
                            f"choose one of {', '.join(EXECUTORS)}")
    return name


def make_executor(name: str, settings) -> Executor:
    if name == "ray":
        address = os.environ.get("STUDIO_RAY_ADDRESS") or settings.get(RAY_ADDRESS.key) or RAY_ADDRESS.default
        return RayExecutor(address)
    return LocalExecutor()
