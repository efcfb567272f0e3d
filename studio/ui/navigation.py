"""Links between pages. Pages are separate URLs, so a refresh lands on the same view."""
from __future__ import annotations

from urllib.parse import quote

# Runs in the browser after a handler set a target URL; an empty target means "stay".
# Relative URLs keep working when the app is served under a path prefix.
NAVIGATE_JS = "(target) => { if (target) { window.location.href = target; } }"


def experiment_url(experiment_id: str) -> str:
    return f"experiment?id={quote(experiment_id)}"


def compare_url(experiment_ids: list[str]) -> str:
    return "compare?ids=" + ",".join(quote(i) for i in experiment_ids)


def new_experiment_url(dataset_id: str, model: str | None = None) -> str:
    url = f"experiments?new=1&dataset={quote(dataset_id)}"
    return f"{url}&model={quote(model, safe='')}" if model else url


def copy_experiment_url(experiment_id: str) -> str:
    return f"experiments?copy={quote(experiment_id)}"
