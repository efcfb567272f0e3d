"""Datasets page in Chromium: hostile uploads are refused inline (never a toast or a traceback),
and delete goes through the dialog (refused while an experiment uses the dataset)."""
from __future__ import annotations

import io
import zipfile

import pytest

from studio.datasets import import_dataset
from studio.store import Store
from tests.datasets.hostile_corpus import deflate_bomb, png, raw_zip, stored
from tests.ui.browser_app import BROWSER_TEST, run_pids, running_app, screenshot_on_failure

pytestmark = BROWSER_TEST


@pytest.fixture()
def app_url(tmp_path, monkeypatch):
    home = tmp_path / "studio_home"
    home.mkdir()
    monkeypatch.setenv("STUDIO_HOME", str(home))
    store = Store(home)
    used = import_dataset(store, b"input,output\nhi,there\n", "used.csv", "used")
    import_dataset(store, b"input,output\nhi,there\n", "spare.csv", "spare")
    store.experiments.add({"name": "trains on used", "dataset_id": used["id"], "status": "Completed"})
    with running_app(home, tmp_path / "app.log", run_pids) as url:
        yield url
    log = (tmp_path / "app.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def hostile_uploads(folder) -> dict:
    data, crc, size = deflate_bomb(png(), bytes(1024 * 1024), 500)  # a 500 MB zero-padded image
    bomb = raw_zip([stored("index.csv", b"image\na.png\n"),
                    {"name": "a.png", "data": data, "method": zipfile.ZIP_DEFLATED, "crc": crc, "size": size}])
    files = {"bomb.zip": (bomb, "more than the 64 MB an image may have"),
             "huge.json": (b'[{"a": ' + b"9" * 5000 + b"}]", "an integer with 5000 digits"),
             "deep.jsonl": (b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}\n", "nested too deeply"),
             "surplus.csv": (b"a,b\n1,2\n3,4,5\n", "has 3 fields but the header has 2")}
    paths = {}
    for name, (content, expected) in files.items():
        path = folder / name
        path.write_bytes(content)
        paths[path] = expected
    return paths


def test_hostile_uploads_are_refused_inline_and_delete_respects_use(page, tmp_path):
    with screenshot_on_failure(page, "datasets-failure"):
        page.goto(page.base + "/datasets")
        page.wait_for_selector("#datasets-table [role=gridcell]")
        for path, expected in hostile_uploads(tmp_path).items():
            clear = page.locator("#dataset-upload button[aria-label='Clear']")
            if clear.count():
                clear.first.click()
            page.locator("#dataset-upload input[type=file]").set_input_files(str(path))
            page.wait_for_function("document.querySelector('#dataset-name input, #dataset-name textarea')"
                                   f"?.value === '{path.stem}'")
            page.click("#dataset-import")
            page.wait_for_selector(f"#dataset-upload-message:has-text('{expected}')")
            assert page.locator(".toast-body").count() == 0
        assert page.locator("#datasets-table [role=gridcell]", has_text="bomb").count() == 0

        page.locator("#datasets-table [role=gridcell]", has_text="used").first.click()
        page.wait_for_selector("#dataset-preview [role=gridcell]")
        page.click("#dataset-delete")
        page.wait_for_selector("text=It is used by 1 experiment(s)")
        assert not page.locator("#dataset-confirm-delete").is_visible()
        page.locator(".studio-modal button", has_text="Cancel").click()

        page.locator("#datasets-table [role=gridcell]", has_text="spare").first.click()
        page.wait_for_selector("#dataset-title:has-text('spare')")
        page.click("#dataset-delete")
        page.click("#dataset-confirm-delete")
        page.wait_for_function("![...document.querySelectorAll('#datasets-table [role=gridcell]')]"
                               ".some(c => c.textContent.trim() === 'spare')")
        assert page.locator(".toast-body").count() == 0
