"""The study page's Plotly charts, drawn by ``optuna.visualization`` from the study's journal.

Importances use PED-ANOVA: optuna's default (fANOVA, a random forest) took 9.5 s for 6 trials
on this machine, PED-ANOVA 0.03 s, which a page that refreshes while trials run can afford.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)
CHARTS = ("history", "importances", "parallel", "intermediate")
TITLES = {"history": "Optimisation history", "importances": "Parameter importances",
          "parallel": "Parallel coordinates", "intermediate": "Intermediate values (validations)"}


def figures(study) -> dict:
    """{chart: Figure or None}; a chart optuna cannot draw yet (too few finished trials) is None."""
    import optuna
    import optuna.visualization as plots

    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished() and t.value is not None]
    builders = {
        "history": lambda: plots.plot_optimization_history(study),
        "importances": lambda: plots.plot_param_importances(
            study, evaluator=optuna.importance.PedAnovaImportanceEvaluator()) if len(finished) >= 2 else None,
        "parallel": lambda: plots.plot_parallel_coordinate(study),
        "intermediate": lambda: plots.plot_intermediate_values(study),
    }
    out = {}
    for name, build in builders.items():
        try:
            figure = build()
        except Exception as exc:  # e.g. importances when every finished trial has one value
            log.info("study chart %s not drawn: %s", name, exc)
            figure = None
        if figure is not None:
            figure.update_layout(title=TITLES[name], height=360, margin={"l": 50, "r": 20, "t": 50, "b": 40})
        out[name] = figure
    return out
