"""End to end: delete a study from its page keeping its trials, and another from the Studies page with
its trials. Two finished studies (each with two completed trial experiments, run folders as a finished
run leaves them) are stored before the app starts, so nothing trains."""
from __future__ import annotations

import re

import pytest

from tests.compare_runs import completed_run
from tests.ui.browser_app import BROWSER_TEST, running_app, screenshot_on_failure

pytestmark = BROWSER_TEST


def _finished_study(studies, name: str, dataset_id: str) -> dict:
    base = {"experiment_name": name, "dataset": {"train_dataset_id": dataset_id}}
    study = studies.create(base, {"max_trials": 2, "concurrent_trials": 1})
    for number in range(2):
        trial = completed_run(studies.store, studies.home, f"{name}-trial-{number}", 1e-4 * (number + 1))
        studies.store.experiments.update(trial["id"], study_id=study["id"], trial_number=number)
    return studies.store.studies.update(study["id"], status="Completed", running_since=None, trials_done=2)


@pytest.fixture()
def app_url(tmp_path):
    from studio.runner.supervisor import Supervisor
    from studio.services.experiments import ExperimentService
    from studio.services.studies import StudyService
    from studio.store import Store
    from studio.store.database import forget_database

    home = tmp_path / "home"
    store = Store(home)
    studies = StudyService(store, ExperimentService(store, Supervisor(store, home, gpus=[]), home), home)
    dataset = store.datasets.add({"name": "toy", "rows": 10})
    for name in ("keep-me", "drop-me"):
        _finished_study(studies, name, dataset["id"])
    forget_database(home / "db.json")
    with running_app(home, tmp_path / "app.log", lambda _home: []) as url:
        yield url


def _text(page, selector: str) -> str:
    return page.locator(selector).inner_text()


def test_delete_a_study_from_its_page_keeping_its_trials_then_one_from_the_list_with_them(page):
    with screenshot_on_failure(page, "study-delete-failure"):
        page.goto(f"{page.base}/?view=studies")
        page.wait_for_selector("#studies-table:has-text('keep-me')", timeout=90_000)
        page.locator("#studies-table [role=gridcell]", has_text="keep-me").first.click()
        page.wait_for_url(re.compile(r".*\?view=study&study=\w+"))
        page.wait_for_selector("#study-delete", state="visible")
        page.click("#study-delete")
        page.wait_for_selector("#study-confirm-delete-text:has-text('keep-me')")
        assert "2 trial experiments" in _text(page, "#study-confirm-delete-text")
        assert not page.locator("#study-delete-trials input[type=checkbox]").is_checked()  # kept unless ticked
        page.click("#study-confirm-delete-yes")
        page.wait_for_url(re.compile(r".*\?view=studies"))
        page.wait_for_selector("#studies-table:has-text('drop-me')")
        page.wait_for_function("!document.querySelector('#studies-table').innerText.includes('keep-me')")

        page.locator("#studies-table [role=gridcell]", has_text="Delete").first.click()  # drop-me: the only row
        page.wait_for_selector("#studies-confirm-delete-text:has-text('drop-me')")
        page.locator("#studies-delete-trials input[type=checkbox]").check()
        page.click("#studies-confirm-delete-yes")
        page.wait_for_function("!document.querySelector('#studies-table').innerText.includes('drop-me')")

        page.goto(f"{page.base}/?view=experiments")
        page.wait_for_selector("#experiments-table:has-text('keep-me-trial-1')", timeout=90_000)
        listed = _text(page, "#experiments-table")
        assert "keep-me-trial-0" in listed and "drop-me-trial" not in listed
