"""What the project already knows: the other runs on the same dataset and problem type.

Two uses. ``better_settings`` compares finished runs setting by setting ("3 runs on this
dataset: learning rate 3e-4 beat 1e-4 by 0.12 validation loss") and proposes the winning value,
or the next step in the winning direction when that value was already tried. ``tried`` says
whether a config was already run in the project (any status), so KGM never proposes it again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from studio.config import ExperimentConfig
from studio.config.problem_types import HIGHER_IS_BETTER
from studio.runner.run_folder_reader import read_final_metrics

from .automl import objective_metric
from .recommendation import Recommendation, same_value

VALIDATION_LOSS = "loss"
# The settings compared across runs: (section or None for top level, key, label, how to step on).
COMPARED = (("training", "learning_rate", "learning rate", "times"),
            ("training", "epochs", "epochs", "plus"),
            ("training", "lora_rank", "LoRA rank", "times"),
            ("training", "lora_dropout", "LoRA dropout", "plus"),
            ("training", "batch_size", "batch size", "times"),
            ("training", "warmup_epochs", "warm-up epochs", "plus"),
            ("training", "weight_decay", "weight decay", "plus"),
            ("tokenizer", "max_length", "max length", "times"),
            (None, "llm_backbone", "backbone", None))
MIN_GAIN = 1e-3  # relative: smaller differences are noise, not evidence


@dataclass
class PastRun:
    id: str
    name: str
    status: str
    config: ExperimentConfig
    value: float | None = None  # the compared metric of a Completed run


@dataclass
class ProjectHistory:
    runs: list[PastRun] = field(default_factory=list)  # every run of the project but the asked one
    metric: str = VALIDATION_LOSS
    higher_is_better: bool = False

    @property
    def metric_label(self) -> str:
        return "validation loss" if self.metric == VALIDATION_LOSS else self.metric

    def same_data(self, config: ExperimentConfig) -> list[PastRun]:
        """Runs on the same dataset and problem type as ``config``."""
        return [r for r in self.runs if r.config.problem_type == config.problem_type and
                _dataset(r.config) == _dataset(config)]

    def tried(self, config: ExperimentConfig) -> PastRun | None:
        """The run of the project that already used exactly ``config`` (its name aside), if any."""
        signature = config_signature(config)
        return next((r for r in self.runs if config_signature(r.config) == signature), None)

    def better(self, a: float, b: float) -> bool:
        return a > b if self.higher_is_better else a < b

    def summary(self, config: ExperimentConfig) -> str:
        runs = self.same_data(config)
        finished = [r for r in runs if r.value is not None]
        if not runs:
            return "no other runs on this dataset in the project"
        best = self._best(finished)
        text = f"{len(runs)} other run{'s' * (len(runs) != 1)} on this dataset, {len(finished)} finished"
        if best:
            text += f"; the best, {best.name}, reached {best.value:.4g} {self.metric_label}"
        return text

    def _best(self, runs: list[PastRun]) -> PastRun | None:
        return (max if self.higher_is_better else min)(runs, key=lambda r: r.value) if runs else None

    def better_settings(self, config: ExperimentConfig, value: float | None) -> list[Recommendation]:
        """One candidate per setting where another value did better on this data, largest gain first."""
        finished = [(r.config, r.value) for r in self.same_data(config) if r.value is not None]
        if value is not None:
            finished.append((config, value))
        found = []
        for section, key, label, step in COMPARED:
            groups: dict = {}
            for run_config, run_value in finished:
                setting = _get(run_config, section, key)
                groups.setdefault(_key(setting), (setting, []))[1].append(run_value)
            if len(groups) < 2:
                continue
            best_of = {k: (setting, (max if self.higher_is_better else min)(values), len(values))
                       for k, (setting, values) in groups.items()}
            winner, best_value, count = sorted(best_of.values(), key=lambda t: t[1],
                                               reverse=self.higher_is_better)[0]
            current = _get(config, section, key)
            if same_value(winner, current):
                continue
            mine = best_of.get(_key(current))
            if mine is not None:
                gain = abs(best_value - mine[1])
                if gain <= MIN_GAIN * max(abs(mine[1]), 1e-9):
                    continue
                seen = (f"{len(finished)} runs on this dataset: {label} {_show(winner)} beat {_show(current)} by "
                        f"{gain:.3g} {self.metric_label} ({best_value:.4g} vs {mine[1]:.4g})")
            else:
                gain = math.inf  # this run has no value to beat (it failed or stopped)
                seen = (f"{len(finished)} finished runs on this dataset: {label} {_show(winner)} gave the best "
                        f"{self.metric_label} ({best_value:.4g})")
            found.append((gain, _candidates(section, key, label, step, winner, current, seen)))
        found.sort(key=lambda t: -t[0])
        return [c for _, candidates in found for c in candidates]


def _candidates(section, key, label, step, winner, current, seen) -> list[Recommendation]:
    values = [winner]
    further = _further(step, winner, current)
    if further is not None:
        values.append(further)
    out = []
    for index, value in enumerate(values):
        overrides = {section: {key: value}} if section else {key: value}
        if index == 0:
            text = (f"Runs on this dataset did better with {label} {_show(value)} than with {_show(current)}: "
                    "the new run uses it and keeps everything else.")
        else:
            text = (f"{label.capitalize()} {_show(winner)} did better than {_show(current)}; the next step in "
                    f"that direction is {_show(value)}.")
        out.append(Recommendation(f"Use the {label} that did better", text, overrides, [seen], "history"))
    return out


def _further(step, winner, current):
    """One more step past the winning value, in the direction that won."""
    if not isinstance(winner, (int, float)) or not isinstance(current, (int, float)) or isinstance(winner, bool):
        return None
    if step == "times" and current > 0 and winner > 0:
        value = winner * (winner / current)
    elif step == "plus":
        value = winner + (winner - current)
    else:
        return None
    if isinstance(winner, int) and isinstance(current, int):
        return int(round(value))
    return float(f"{value:.3g}") if value > 0 else None


def config_signature(config: ExperimentConfig) -> str:
    """The config as a comparable text, without its name and with floats to 6 significant digits."""
    data = config.model_dump(mode="json")
    data.pop("experiment_name", None)
    return repr(_canonical(data))


def _canonical(value):
    if isinstance(value, dict):
        return sorted((k, _canonical(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


def _dataset(config: ExperimentConfig):
    return config.dataset.train_dataset_id or config.dataset.train_dataframe


def _get(config: ExperimentConfig, section: str | None, key: str):
    return getattr(getattr(config, section), key) if section else getattr(config, key)


def _key(value):
    return round(float(value), 12) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


# ---------------------------------------------------------------------- reading the store
def load_history(experiments, row: dict) -> tuple[ProjectHistory, float | None]:
    """The project's other runs and the asked run's own value of the compared metric."""
    config = experiments.config_of(row)
    past = []
    for other in experiments.store.experiments.list():
        if other["id"] == row["id"] or other.get("project_id") != row.get("project_id"):
            continue
        try:
            other_config = experiments.config_of(other)
        except Exception:  # a row whose stored YAML no longer validates teaches nothing
            continue
        past.append((other, other_config))
    finals = {r["id"]: _final(experiments, r) for r, _ in past + [(row, config)] if r.get("status") == "Completed"}
    metric = _compared_metric(config, finals)
    history = ProjectHistory([PastRun(r["id"], r.get("name") or r["id"], r.get("status") or "", c,
                                      _value(finals.get(r["id"]), metric)) for r, c in past],
                             metric, HIGHER_IS_BETTER.get(metric, False) if metric != VALIDATION_LOSS else False)
    return history, _value(finals.get(row["id"]), metric)


def _final(experiments, row: dict) -> dict:
    return row.get("final_metrics") or read_final_metrics(experiments.run_dir(row["id"])) or {}


def _compared_metric(config: ExperimentConfig, finals: dict[str, dict]) -> str:
    """Validation loss when the finished runs have it (every problem type logs it), else the objective."""
    with_loss = sum(1 for final in finals.values() if _value(final, VALIDATION_LOSS) is not None)
    return VALIDATION_LOSS if with_loss >= max(1, len(finals) // 2) else objective_metric(config)


def _value(final: dict | None, metric: str) -> float | None:
    value = (final or {}).get(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)
