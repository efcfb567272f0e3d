"""``torchrun ... tests/engine/failing_rank.py RUN_DIR``: the engine CLI with one rank raising mid-run.

FAIL_RANK raises a RuntimeError at optimizer step FAIL_AT_STEP (1-based); every other rank
trains normally. The tests use it to prove a rank's failure ends the run as Failed, naming it.
"""
import os
import sys

from training import __main__ as cli
from training.recipe import FinetuneRecipe

FAIL_RANK, FAIL_AT_STEP = int(os.environ["FAIL_RANK"]), int(os.environ["FAIL_AT_STEP"])
real_step = FinetuneRecipe._optimizer_step


def failing_step(self, group):
    if self.ranks.rank == FAIL_RANK and self.step + 1 == FAIL_AT_STEP:
        raise RuntimeError(f"injected failure at step {FAIL_AT_STEP}")
    return real_step(self, group)


FinetuneRecipe._optimizer_step = failing_step
sys.exit(cli.main())
