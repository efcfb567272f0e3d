"""What every browser test starts from: the real app in a subprocess and Chromium pointed at it.

The fixtures that use these live in tests/ui/conftest.py; a test module supplies its own
``app_url`` fixture (what goes into STUDIO_HOME before the app starts, which processes it
leaves behind) built on ``running_app``.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from studio.services.serve_process import free_port

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
APP_START_TIMEOUT_S = 90

BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"),
]
PAGE_TIMEOUT_MS = 90_000


@contextmanager
def running_app(home: Path, log_path: Path, leftover_pids: Callable[[Path], Iterable[int]],
                args: Iterable[str] = ()) -> Iterator[str]:
    """``python app.py [args]`` on a free port with STUDIO_HOME=home; yields its URL once it answers.

    On the way out the app is stopped, then the process groups ``leftover_pids(home)`` names:
    processes the app started that outlive it (training runs, serving processes).
    """
    port = free_port()
    env = {**os.environ, "STUDIO_HOME": str(home), "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(log_path, "wb")
    process = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *args], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_answering(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        for pid in leftover_pids(home):
            try:
                os.killpg(pid, 9)
            except (ProcessLookupError, PermissionError):
                pass


def _wait_until_answering(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.time() + APP_START_TIMEOUT_S
    while time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError("the app exited: " + log_path.read_text()[-3000:])
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the app did not answer within {APP_START_TIMEOUT_S} s")


def run_pids(home: Path) -> list[int]:
    """Pids of the training runs in ``home`` (each leads its own process group)."""
    pids = []
    for status in home.glob("runs/*/status.json"):
        match = re.search(r'"pid":\s*(\d+)', status.read_text())
        if match:
            pids.append(int(match.group(1)))
    return pids


def deployment_pids(home: Path) -> list[int]:
    """Pids of the serving processes the store records in ``home`` (each leads its own process group)."""
    db = json.loads((home / "db.json").read_text())
    return [int(row["pid"]) for row in db.get("deployments", {}).values() if row.get("pid")]


@contextmanager
def chromium_page(base_url: str) -> Iterator:
    """A Playwright page in Debian's Chromium; ``page.base`` is the app's URL."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        # A 2-core CI machine under load can block the one-page app's first render for ~20 s.
        tab.set_default_timeout(PAGE_TIMEOUT_MS)
        tab.base = base_url
        try:
            yield tab
        finally:
            browser.close()


def screenshot(page, name: str, settle_ms: int) -> None:
    """test-artifacts/screenshots/<name>.png of the whole page, after ``settle_ms`` for it to finish drawing."""
    page.wait_for_timeout(settle_ms)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@contextmanager
def screenshot_on_failure(page, name: str) -> Iterator[None]:
    """Keep test-artifacts/screenshots/<name>.png of the page as it was when a step failed."""
    try:
        yield
    except BaseException:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        raise


def registered_backbone(page, name: str) -> str:
    """The id of the registered model whose Model-dropdown option mentions ``name`` (STUDIO_HOME/models.yaml)."""
    page.locator("#field-llm_backbone input").click()
    option = page.get_by_role("option", name=re.compile(re.escape(name))).first
    # The selected option carries a check mark line before its text (the dialog preselects the
    # model that loads here): the id is the last line.
    text = option.inner_text().strip().splitlines()[-1].strip()
    page.keyboard.press("Escape")
    # the option's label may carry an availability mark ("✓ ") before the model's path
    return re.search(rf"\S*{re.escape(name)}\S*", text).group(0)


def type_yaml(page, text: str) -> None:
    """Replace the New Experiment dialog's Advanced YAML with ``text``, as if typed."""
    editor = page.locator("#advanced-yaml .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def current_yaml(page) -> str:
    return page.locator("#advanced-yaml .cm-content").inner_text()


def menu_action(page, elem_id: str) -> None:
    """Click the experiment page's action ``elem_id`` in its "…" menu (opening the menu first)."""
    page.click("#action-more")
    page.wait_for_selector("#action-menu.open")
    page.wait_for_selector(f"#{elem_id}", state="visible")
    page.click(f"#{elem_id}")
