"""The runner's entries in the store's settings table: key, default, bound and help, in one place.

The Settings page renders them and the supervisor reads them through ``value``, so a
default is written once, here.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerSetting:
    key: str
    label: str
    default: float | None
    help: str
    minimum: float | None = None

    def value(self, settings) -> float | None:
        """The stored value when it is a number within bounds, else the default."""
        stored = settings.get(self.key)
        if stored is None:
            return self.default
        try:
            number = float(stored)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or (self.minimum is not None and number < self.minimum):
            log.warning("ignoring invalid setting %s=%r; using %r", self.key, stored, self.default)
            return self.default
        return number


MAX_CONCURRENT_RUNS = RunnerSetting(
    "max_concurrent_runs", "Max concurrent runs", None,
    "Runs beyond this wait in the queue; empty = one per GPU (one at a time on CPU).", minimum=1)

HUNG_RUN_TIMEOUT_MINUTES = RunnerSetting(
    "hung_run_timeout_minutes", "Hung-run timeout (minutes)", 10.0,
    "A run whose heartbeat is older than this is failed as hung and its processes are killed; "
    "a warning shows on the run at half this time; 0 turns the check off.", minimum=0)

MAX_RUN_MINUTES = RunnerSetting(
    "max_run_minutes", "Max run time (minutes)", 0.0,
    "A run still going after this many minutes is stopped, with the limit named as its reason; "
    "0 = no limit. A public demo sets one so that no visitor holds the machine.", minimum=0)

# The warning comes at this fraction of the timeout, so a user can look before the kill.
HUNG_WARNING_FRACTION = 0.5


@dataclass(frozen=True)
class TextSetting:
    key: str
    label: str
    default: str
    help: str
    choices: tuple[str, ...] = ()


EXECUTORS = ("local", "ray")
EXECUTOR = TextSetting(
    "executor", "Run experiments on", "local",
    "local: processes on this machine (torchrun for several GPUs). ray: jobs on a Ray cluster through its "
    "Jobs API; STUDIO_HOME must be on storage every node mounts. The STUDIO_EXECUTOR environment variable "
    "overrides this; a change applies to runs started afterwards.", choices=EXECUTORS)
RAY_ADDRESS = TextSetting(
    "ray_address", "Ray dashboard address", "http://127.0.0.1:8265",
    "The Ray cluster's dashboard (Jobs API) address; STUDIO_RAY_ADDRESS overrides it.")
