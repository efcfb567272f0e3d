"""Limits an operator sets on the Admin page: upload size, epochs, and whether Push and Deploy are on.

A public demo needs them (with the runner's concurrency and run-time limits) so that one visitor
cannot fill the disk, hold the CPU for hours or publish with the Studio's token. Each entry has
its key, default (no limit), bound and help here; ``studio/services/limits.py`` applies them and
``DEMO_DEFAULTS`` are the values a demo starts with.
"""
from __future__ import annotations

from dataclasses import dataclass

from .data_bounds import MAX_UPLOAD_BYTES, MIB
from .runner_settings import MAX_CONCURRENT_RUNS, MAX_RUN_MINUTES, RunnerSetting


@dataclass(frozen=True)
class SwitchSetting:
    key: str
    label: str
    default: bool
    help: str
    off_reason: str  # what a hidden or refused action says

    def value(self, settings) -> bool:
        stored = settings.get(self.key)
        return stored if isinstance(stored, bool) else self.default


MAX_UPLOAD_MB = RunnerSetting(
    "max_upload_mb", "Max upload size (MB)", MAX_UPLOAD_BYTES / MIB,
    f"A bigger dataset file is refused and nothing is stored; empty = {MAX_UPLOAD_BYTES // MIB:,} MB, "
    "the most an upload may ever have.", minimum=1)
MAX_EPOCHS = RunnerSetting(
    "max_epochs", "Epochs cap", None,
    "An experiment with more training.epochs than this is refused, naming the field; empty = no cap.",
    minimum=0.01)
ALLOW_PUSH = SwitchSetting(
    "allow_push", "Allow Push to Hugging Face", True,
    "Off: the Push to Hugging Face action is hidden and the push service refuses.",
    "Push to Hugging Face is turned off on this Studio (Admin → Limits → Allow Push to Hugging Face).")
ALLOW_DEPLOY = SwitchSetting(
    "allow_deploy", "Allow Deploy", True,
    "Off: Deploy is disabled and the deployment service refuses to start a deployment "
    "(chatting with a run on the Chat page still works).",
    "Deploy is turned off on this Studio (Admin → Limits → Allow Deploy).")

# What a public demo on a CPU starts with: one run at a time (the others queue), ten minutes
# per run (the Try it run takes under one), small uploads, short runs, nothing published.
DEMO_DEFAULTS = {
    MAX_CONCURRENT_RUNS.key: 1,
    MAX_RUN_MINUTES.key: 10.0,
    MAX_UPLOAD_MB.key: 20.0,
    MAX_EPOCHS.key: 3.0,
    ALLOW_PUSH.key: False,
    ALLOW_DEPLOY.key: False,
}
