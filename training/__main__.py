"""``python -m training RUN_DIR`` | ``python -m training --config FILE.yaml --out RUN_DIR`` [--resume].

Reads RUN_DIR/config.yaml, trains, and leaves the run-folder contract behind (see
docs/engine.md). Exit code 0 = Completed, 1 = Failed (reason in status.json, traceback
in system.log), 143 = Stopped by SIGTERM. A user error (invalid config, missing column, model
that cannot be loaded) prints its message only; a traceback is kept for the unexpected.
The same command runs under ``torchrun --nproc_per_node N -m training ...``: one process
per device, rank 0 writing the run folder.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import traceback
from pathlib import Path

from studio.library_noise import silence_library_noise

silence_library_noise()  # before the recipe's imports pull in bitsandbytes

from studio.config import ConfigError  # noqa: E402
from training import distributed  # noqa: E402
from training import stop_signal  # noqa: E402
from training.errors import RunError, StopRequested  # noqa: E402
from training.recipe import FinetuneRecipe  # noqa: E402
from training.run_folder import RunLogs, StatusWriter

EXIT_FAILED, EXIT_STOPPED = 1, 143


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="?", help="run folder holding config.yaml")
    parser.add_argument("--config", help="a config YAML to copy into the run folder (with --out)")
    parser.add_argument("--out", help="run folder to create (with --config)")
    parser.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint/last")
    args = parser.parse_args(argv)
    if bool(args.config) != bool(args.out) or bool(args.run_dir) == bool(args.out):
        parser.error("give either RUN_DIR or --config FILE --out RUN_DIR")
    return args


def is_user_error(exc: BaseException) -> bool:
    """A mistake the message alone explains: its traceback would only bury the message."""
    return isinstance(exc, (ConfigError, RunError))


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return "invalid config: " + "; ".join(exc.errors)
    if isinstance(exc, RunError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _finish_reporting_first() -> None:
    # torchrun sends SIGTERM to the other ranks as soon as one exits: a rank already reporting
    # its own failure must not be cut off half-way by it (its status would stay "Training").
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_dir = Path(args.out or args.run_dir).resolve()
    stop_signal.install()
    try:
        ranks = distributed.from_environment(run_dir)
    except StopRequested:
        return EXIT_STOPPED
    if ranks.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if args.config:
            shutil.copyfile(args.config, run_dir / "config.yaml")
        status, logs = StatusWriter(run_dir), RunLogs(run_dir)
    else:
        status, logs = distributed.QuietStatus(), distributed.RankLogs(ranks.rank)
    ranks.barrier()  # the run folder and config.yaml exist before any rank reads them
    recipe = FinetuneRecipe(run_dir, resume=args.resume, status=status, logs=logs, ranks=ranks)
    try:
        recipe.setup()
        recipe.train()
        recipe.save()
        return 0
    except StopRequested:
        _finish_reporting_first()
        peer_failure = distributed.first_failure(run_dir) if ranks.distributed else None
        if peer_failure:  # torchrun stopping the ranks after one of them failed
            logs.train(f"run failed: {peer_failure}")
            status.update("Failed", stage="failed", error=peer_failure)
            return EXIT_FAILED
        logs.train("stopped by request (SIGTERM)")
        status.update("Stopped", stage="stopped")
        return EXIT_STOPPED
    except BaseException as exc:  # every failure ends as status Failed with a one-line reason
        _finish_reporting_first()
        reason = distributed.record_failure(run_dir, ranks, failure_reason(exc))
        if not is_user_error(exc):
            logs.error("run failed:\n" + traceback.format_exc())
        logs.train(f"run failed: {reason}")
        status.update("Failed", stage="failed", error=reason)
        return EXIT_FAILED
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        recipe.cleanup()
        ranks.close()


if __name__ == "__main__":
    sys.exit(main())
