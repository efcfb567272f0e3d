"""Create, rerun, copy, stop, resume and delete experiments: what the UI asks for, checked.

A new experiment is validated against the schema, stored as a row (with its overrides
YAML, so Copy and Rerun reproduce it), written to ``runs/<id>/config.yaml`` and queued on
the runner. Nothing is stored when the config is invalid.
"""
from __future__ import annotations

import math
import os
import shutil
import time
from datetime import datetime
from dataclasses import dataclass
from pathlib import Path

from studio import paths
from studio.atomic_io import write_atomic
from studio.datasets import DatasetError, load_profile
from studio.config import ConfigError, ExperimentConfig, dump_yaml, from_dict, load_yaml, overrides_yaml, parse_overrides
from studio.config.loading import merge
from studio.config.yaml_input import dump_yaml_text
from studio.config.presets import DRAFT_PRESETS
from studio.config.downloads import DOWNLOAD_LINK_TTL_S, DOWNLOAD_LINK_TTL_SETTING
from studio.runner.run_folder_reader import TERMINAL_STATUSES, has_resume_checkpoint, read_status
from studio.store.names import character_problem, derived_name
from studio.store.records import new_id

from .access_policy import SINGLE_USER, Actor, check_change, check_change_all, check_create, owner_fields
from .archive import build_archive
from .downloads import ExpiringDownloads
from .limits import epochs_problem
from .model_registry import load_registry
from .text_rules import experiment_name_errors, refuse_unstorable_text

PRICE_SETTING = "price_per_gpu_hour"
DATA_ROOT_ENV = "STUDIO_DATA_ROOT"
COPY, RERUN = "copy", "rerun"
RESUMABLE_STATUSES = ("Failed", "Stopped")
STOPPABLE_STATUSES = ("Queued", "Starting", "Training", "Validation")
# What a dataset profile's "suggested" block may fill in a new experiment (problem type first).
SUGGESTED_KEYS = ("problem_type", "input_column", "output_column", "image_column", "system_column",
                  "rejected_output_column")


@dataclass(frozen=True)
class Resources:
    gpus: int
    price_per_gpu_hour: float
    runtime_s: float
    total_cost: float


class ExperimentService:
    def __init__(self, store, supervisor, home: Path):
        self.store = store
        self.supervisor = supervisor
        self.home = Path(home)

    # ------------------------------------------------------------------ creating
    def validate(self, config: ExperimentConfig | str | dict) -> ExperimentConfig:
        """The config checked against the schema and this Studio's datasets (ConfigError if not)."""
        if isinstance(config, str):
            config = parse_overrides(config)
        refuse_unstorable_text(config if isinstance(config, dict) else config.model_dump(mode="json"))
        name = config.get("experiment_name", "") if isinstance(config, dict) else config.experiment_name
        errors = experiment_name_errors(name)
        if isinstance(config, dict):
            try:
                config = from_dict(config)
            except ConfigError as exc:
                raise ConfigError(errors + exc.errors) from None
        errors += self._data_file_errors(config)
        if problem := epochs_problem(self.store, config.training.epochs):
            errors.append(problem)
        for path, dataset_id in (("dataset.train_dataset_id", config.dataset.train_dataset_id),
                                 ("dataset.validation_dataset_id", config.dataset.validation_dataset_id)):
            if dataset_id and self.store.datasets.get(dataset_id) is None:
                errors.append(f"{path}: there is no dataset with id {dataset_id!r}; pick one from the list")
        if errors:
            raise ConfigError(errors)
        return config

    def data_roots(self) -> list[Path]:
        """Folders the app may read data files from: STUDIO_HOME, and those an admin lists in
        STUDIO_DATA_ROOT (os.pathsep-separated) when the app starts."""
        extra = [Path(p).expanduser() for p in os.environ.get(DATA_ROOT_ENV, "").split(os.pathsep) if p.strip()]
        return [root.resolve() for root in [self.home, *extra]]

    def _data_file_errors(self, config: ExperimentConfig) -> list[str]:
        # The CLI reads any path its user can; the app would read any file the *server* can, and
        # show its rows in predictions. So in the app a data file must lie inside a data root.
        errors = []
        roots = self.data_roots()
        for path, value in (("dataset.train_dataframe", config.dataset.train_dataframe),
                            ("dataset.validation_dataframe", config.dataset.validation_dataframe)):
            if value and not _inside_any(value, roots, self.home):
                errors.append(f"{path}: the app reads data files only inside {self.home} (or a folder "
                              f"listed in {DATA_ROOT_ENV}); import the file as a dataset and choose it instead")
        return errors

    def create(self, config: ExperimentConfig | str | dict, project_id: str | None = None, *,
               source_id: str | None = None, connection: str | None = None,
               explanation: str | None = None, actor: Actor = SINGLE_USER) -> dict:
        """Store, write and queue a new experiment owned by ``actor``; returns its row (``explanation``:
        why it was suggested, e.g. by Ask KGM, shown on its page)."""
        check_create(actor, "an experiment")
        config = self.validate(config)
        experiment_id = new_id()
        if not config.experiment_name.strip():
            config = config.model_copy(update={"experiment_name": _generated_name(config, experiment_id)})
        dataset = self.store.datasets.get(config.dataset.train_dataset_id) if config.dataset.train_dataset_id else None
        self.store.experiments.add({
            "id": experiment_id,
            "project_id": project_id or (dataset or {}).get("project_id"),
            "name": config.experiment_name,
            "dataset_id": config.dataset.train_dataset_id,
            "dataset_name": (dataset or {}).get("name") or config.dataset.train_dataframe,
            "problem_type": config.problem_type,
            "backbone": config.llm_backbone,
            "config": overrides_yaml(config),
            "connected_to": source_id,
            "connection": connection if source_id else None,
            "status": "Queued",
            **({"explanation": explanation} if explanation else {}),
            **owner_fields(actor),
        })
        try:
            write_atomic(self.run_dir(experiment_id) / "config.yaml", dump_yaml(config))
            self.supervisor.submit(experiment_id)
        except Exception:
            self.supervisor.delete(experiment_id)
            raise
        return self.store.experiments.require(experiment_id)

    def rerun(self, experiment_id: str, actor: Actor = SINGLE_USER) -> dict:
        """The same settings again, as a new experiment linked to this one (owned by who asked)."""
        row = self.store.experiments.require(experiment_id)
        config = self.config_of(row)
        config = config.model_copy(update={"experiment_name": derived_name(row["name"], "-rerun")})
        return self.create(config, row.get("project_id"), source_id=experiment_id, connection=RERUN, actor=actor)

    def copy_yaml(self, experiment_id: str) -> str:
        """The overrides YAML that pre-fills the New Experiment dialog for a Copy."""
        row = self.store.experiments.require(experiment_id)
        name = derived_name(row["name"], "-copy")
        try:
            config = self.config_of(row)
        except ConfigError:
            # Settings that no longer validate (stored by an older Studio, or edited by hand): the
            # dialog opens on them as they are and lists what to fix, rather than refusing the Copy.
            return _renamed_overrides(row.get("config") or "", name)
        return overrides_yaml(config.model_copy(update={"experiment_name": name}))

    def dataset_suggestions(self, dataset_id: str | None) -> dict:
        """The profile's guesses for a dataset: ``problem_type`` and the ``*_column`` keys it could tell."""
        if not dataset_id:
            return {}
        try:
            suggested = load_profile(dataset_id, self.home).get("suggested") or {}
        except DatasetError:
            return {}
        return {key: suggested[key] for key in SUGGESTED_KEYS if suggested.get(key)}

    def draft_for_dataset(self, dataset_id: str, llm_backbone: str | None = None, preset: str | None = None) -> str:
        """Overrides YAML for a new experiment on a dataset: it, and the columns its profile suggests.

        ``llm_backbone`` is kept only when the model registry offers it (a link cannot pick any folder);
        ``preset`` names starting settings in ``studio.config.presets`` (an unknown name adds none).
        """
        data: dict = merge(DRAFT_PRESETS.get(preset or "", {}), {"dataset": {"train_dataset_id": dataset_id}})
        if llm_backbone and llm_backbone in {m.id for m in load_registry(self.home)}:
            data["llm_backbone"] = llm_backbone
        suggested = self.dataset_suggestions(dataset_id)
        if suggested.get("problem_type"):
            data["problem_type"] = suggested["problem_type"]
        for key in SUGGESTED_KEYS[1:]:
            if suggested.get(key):
                data["dataset"][key] = suggested[key]
        try:
            return overrides_yaml(from_dict(data, check_rules=False))
        except ConfigError:  # a suggestion the schema rejects: fall back to the dataset alone
            return overrides_yaml(from_dict({"dataset": {"train_dataset_id": dataset_id}}, check_rules=False))

    def config_of(self, row: dict) -> ExperimentConfig:
        return load_yaml(row.get("config") or "")

    # ------------------------------------------------------------------ run control
    def stop(self, experiment_id: str, actor: Actor = SINGLE_USER) -> None:
        row = self.store.experiments.get(experiment_id)
        if row is not None:
            check_change(actor, row, "stop", "experiment")
        self.supervisor.stop(experiment_id)

    def resume(self, experiment_id: str, actor: Actor = SINGLE_USER) -> None:
        # The runner restarts the progress at 0 while the engine reloads the checkpoint; the page
        # keeps showing where the run was (resume_progress) until training moves again.
        row = self.store.experiments.get(experiment_id) or {}
        if row:
            check_change(actor, row, "resume", "experiment")
        progress = row.get("progress") if isinstance(row.get("progress"), (int, float)) else 0.0
        if row:
            self.store.experiments.update(experiment_id, resume_progress=float(progress))
        self.supervisor.resume(experiment_id)

    def can_resume(self, row: dict) -> bool:
        return row.get("status") in RESUMABLE_STATUSES and \
            has_resume_checkpoint(self.run_dir(row["id"]))

    def delete(self, experiment_ids: list[str], actor: Actor = SINGLE_USER) -> int:
        """Delete experiments (running ones are stopped first); returns how many.

        All or none: when ``actor`` may not delete one of them, nothing is deleted (AccessDenied)."""
        rows = [row for row in map(self.store.experiments.get, experiment_ids) if row is not None]
        check_change_all(actor, rows, "delete", "experiment")
        count = 0
        for experiment_id in experiment_ids:
            if self.store.experiments.get(experiment_id) is None:
                continue
            self.supervisor.delete(experiment_id)
            count += 1
        return count

    # ------------------------------------------------------------------ reading
    def anything_live(self) -> bool:
        """Whether the runner has a run queued or running (what keeps the list views polling)."""
        return bool(self.supervisor.running_ids() or self.supervisor.queued_ids())

    def is_live(self, experiment_id: str | None) -> bool:
        """Whether this experiment can still change by itself (queued or running)."""
        row = self.store.experiments.get(experiment_id) if experiment_id else None
        return row is not None and row.get("status") not in TERMINAL_STATUSES

    def is_family_live(self, experiment_id: str | None) -> bool:
        """Whether this experiment or one connected to it (a rerun, a copy, an AutoML trial) is
        queued or running: its page shows all of them, so it has something that can change."""
        if not experiment_id or self.store.experiments.get(experiment_id) is None:
            return False
        return any(r.get("status") not in TERMINAL_STATUSES for r in self.connected(experiment_id))

    def run_dir(self, experiment_id: str) -> Path:
        return paths.run_dir(experiment_id, self.home)

    def live_status(self, row: dict) -> dict:
        """The row's status, with stage/progress fresh from status.json while it runs."""
        status = {key: row.get(key) for key in ("status", "stage", "progress", "error")}
        if row.get("status") not in TERMINAL_STATUSES:
            current = read_status(self.run_dir(row["id"]))
            if current and current.get("status") not in TERMINAL_STATUSES and row.get("status") != "Queued":
                status.update({key: current.get(key) for key in ("status", "stage", "progress")})
            if row.get("resume") and status.get("status") in ("Queued", "Starting"):
                status["progress"] = max(float(status.get("progress") or 0.0), float(row.get("resume_progress") or 0.0))
        return status

    def runtime_s(self, row: dict) -> float:
        if row.get("runtime_s") is not None:
            return float(row["runtime_s"])
        started = _timestamp(row.get("started"))
        if started is not None and row.get("status") not in TERMINAL_STATUSES and row.get("status") != "Queued":
            return max(0.0, time.time() - started)
        return 0.0

    def resources(self, row: dict) -> Resources:
        price = float(self.store.settings.get(PRICE_SETTING, 0.0) or 0.0)
        # The GPUs the run held: the local pool's allocation, or what a cluster executor
        # (Ray places GPUs itself, so no indices are known here) gave it.
        gpus = len(row.get("gpus") or []) or int(row.get("num_gpus") or 0)
        runtime = self.runtime_s(row)
        return Resources(gpus, price, runtime, round(gpus * price * runtime / 3600.0, 4))

    def resolved_config_yaml(self, row: dict) -> str:
        """The run's config.yaml (fully resolved once the engine started), else the stored one."""
        path = self.run_dir(row["id"]) / "config.yaml"
        try:
            return path.read_text(encoding="utf-8")
        except OSError:
            return dump_yaml(self.config_of(row))

    def connected(self, experiment_id: str) -> list[dict]:
        """This experiment, the one it came from, and every experiment made from either."""
        row = self.store.experiments.require(experiment_id)
        root = row
        seen = {row["id"]}
        while root.get("connected_to") and root["connected_to"] not in seen:
            parent = self.store.experiments.get(root["connected_to"])
            if parent is None:
                break
            seen.add(parent["id"])
            root = parent
        family = [root]
        frontier = [root["id"]]
        while frontier:
            children = [r for r in self.store.experiments.find(connected_to=frontier.pop())
                        if r["id"] not in {f["id"] for f in family}]
            family.extend(children)
            frontier.extend(c["id"] for c in children)
        return sorted(family, key=lambda r: r.get("created") or "")

    def archive(self, experiment_id: str, what: str = "logs", out_dir: Path | None = None) -> Path:
        """A zip: "logs" (config, status, metrics, logs, predictions) or "model" (weights);
        written to ``out_dir`` (default STUDIO_HOME/exports, which the app never serves)."""
        self.store.experiments.require(experiment_id)
        return build_archive(self.run_dir(experiment_id), what, out_dir=out_dir or self.home / "exports")

    def download(self, experiment_id: str, what: str, served_from: Path) -> Path:
        """The archive in a fresh folder under ``served_from`` (the web server's file cache),
        deleted after the download-link TTL, so its URL works for one request, for a while."""
        ttl_s = _seconds(self.store.settings.get(DOWNLOAD_LINK_TTL_SETTING), DOWNLOAD_LINK_TTL_S)
        folder = ExpiringDownloads(served_from, ttl_s).new_folder()
        try:
            return self.archive(experiment_id, what, out_dir=folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def expire_downloads(self, served_from: Path) -> None:
        """Delete the expired download folders, those an earlier app run left included."""
        ExpiringDownloads(served_from, 0).sweep()


def _inside_any(value: str, roots: list[Path], home: Path) -> bool:
    """Whether the file ``value`` names lies inside one of ``roots``, wherever a relative path is
    taken from (the engine runs in ``runs/<id>/``; a reader might take STUDIO_HOME)."""
    try:
        path = Path(value).expanduser()
        candidates = [path] if path.is_absolute() else [home / path, home / "runs" / "_" / path]
        resolved = [candidate.resolve() for candidate in candidates]
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL in the name
        return False
    return all(any(target == root or root in target.parents for root in roots) for target in resolved)


def _timestamp(value) -> float | None:
    """Seconds since the epoch from a number or an ISO 8601 text (status.json writes the latter)."""
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def _seconds(value, default: float) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    return seconds if math.isfinite(seconds) and seconds > 0 else default


def _generated_name(config: ExperimentConfig, experiment_id: str) -> str:
    backbone = config.llm_backbone.rstrip("/").split("/")[-1]
    backbone = "".join(char for char in backbone if character_problem(char) is None) or "model"
    return derived_name(backbone, f"-{experiment_id[:6]}")


def _renamed_overrides(text: str, name: str) -> str:
    """The stored overrides YAML with the copy's name, or the text unchanged when it is not a mapping."""
    try:
        data = parse_overrides(text)
    except ConfigError:
        return text
    return dump_yaml_text({**data, "experiment_name": name})
