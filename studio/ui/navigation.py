"""Addresses of the views. Each view is a tab of one page named by ``?view=...``, so a refresh lands on the same view."""
from __future__ import annotations

from urllib.parse import urlencode

# Runs in the browser after a handler set a target address; an empty target means "stay".
# studioGo (assets/js/router.js) switches the tab without a page load.
NAVIGATE_JS = "(target) => { if (target) { window.studioGo(target); } }"


def view_url(view: str, **params) -> str:
    """``?view=<view>&...``: relative, so it keeps working when the app is served under a path prefix."""
    shown = {key: value for key, value in params.items() if value is not None}
    return "?" + urlencode({"view": view, **shown})


def experiment_url(experiment_id: str) -> str:
    return view_url("experiment", id=experiment_id)


def compare_url(experiment_ids: list[str]) -> str:
    return view_url("compare", ids=",".join(experiment_ids))


def new_experiment_url(dataset_id: str, model: str | None = None, preset: str | None = None) -> str:
    return view_url("experiments", new=1, dataset=dataset_id, model=model, preset=preset)


def copy_experiment_url(experiment_id: str) -> str:
    return view_url("experiments", copy=experiment_id)


def study_url(study_id: str) -> str:
    return view_url("study", study=study_id)
