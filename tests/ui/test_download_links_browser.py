"""End to end: a run's download link is private to its request and expires (issue 9, item 13).

The attack: fetch /gradio_api/file=<STUDIO_HOME>/exports/<id>-logs.zip, which anyone could,
forever. Here Chromium presses "Download logs & config" on a finished run's page; the link
it gets must work at once, must stop working after the link TTL (set to a few seconds),
and nothing under STUDIO_HOME may be served at all.
"""
from __future__ import annotations

import io
import time
import urllib.error
import urllib.request
import zipfile

import pytest

from tests.ui.browser_app import BROWSER_TEST, menu_action, running_app, screenshot_on_failure

pytestmark = BROWSER_TEST
TTL_S = 6.0


def http_status(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


@pytest.fixture()
def finished_run(tmp_path):
    from studio.config.downloads import DOWNLOAD_LINK_TTL_SETTING
    from studio.store import Store
    from studio.store.database import forget_database

    home = tmp_path / "home"
    store = Store(home)
    row = store.experiments.add({"name": "finished", "status": "Completed", "problem_type": "causal_lm"})
    run = home / "runs" / row["id"]
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("experiment_name: finished\n")
    (run / "train.log").write_text("epoch 1 loss 0.5\n")
    (run / "status.json").write_text('{"status": "Completed", "progress": 1.0}')
    store.settings.set(DOWNLOAD_LINK_TTL_SETTING, TTL_S)
    # What an attacker would try: a zip at the old fixed path in STUDIO_HOME.
    (home / "exports").mkdir()
    (home / "exports" / f"{row['id']}-logs.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    forget_database(home / "db.json")
    return home, row["id"]


@pytest.fixture()
def app_url(finished_run, tmp_path):
    home, _ = finished_run
    with running_app(home, tmp_path / "app.log", lambda _home: []) as url:
        yield url


def test_download_link_works_once_asked_for_then_expires(page, finished_run):
    home, experiment_id = finished_run
    base = page.base
    assert http_status(f"{base}/gradio_api/file={home}/exports/{experiment_id}-logs.zip")[0] in (403, 404)
    assert http_status(f"{base}/gradio_api/file={home}/db.json")[0] in (403, 404)

    with screenshot_on_failure(page, "download-link"):
        page.goto(f"{base}/experiment?id={experiment_id}")
        page.wait_for_selector("#experiment-header:has-text('finished')")  # the page knows its run
        with page.expect_download(timeout=60_000) as download:  # one click downloads
            menu_action(page, "action-download")
        url = download.value.url
    assert "gradio_api/file=" in url, url
    asked = time.time()
    assert str(home) not in urllib.request.unquote(url)

    status, body = http_status(url)
    assert status == 200
    assert f"{experiment_id}/train.log" in zipfile.ZipFile(io.BytesIO(body)).namelist()

    time.sleep(max(0.0, asked + TTL_S + 2 - time.time()))
    assert http_status(url)[0] in (403, 404)  # expired: the file is gone
