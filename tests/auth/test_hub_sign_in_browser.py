"""Hugging Face sign-in end to end through Gradio's own OAuth routes, offline.

The app runs as on a Space with ``hf_oauth: true`` (SPACE_ID, OAUTH_CLIENT_ID, SPACE_AUTHOR_NAME
set) but without ``SYSTEM=spaces``, so Gradio mounts its *mocked* OAuth routes: /login/huggingface
signs the browser in as the user ``whoami`` names for the app's HF_TOKEN, asked of a local stand-in
for the Hub (HF_ENDPOINT). What is real: Gradio's LoginButton, routes, session cookie and
middleware, and Studio reading the name from that session. What is not: huggingface.co's consent
page and token exchange (authlib), which need the network.
Screenshots: test-artifacts/screenshots/hub-sign-in-*.png."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.ui.browser_app import BROWSER_TEST, chromium_page, run_pids, running_app, screenshot, screenshot_on_failure

pytestmark = BROWSER_TEST
HUB_USER = "space-owner"


class WhoamiHub(BaseHTTPRequestHandler):
    """The one Hub route Gradio's local OAuth mock asks: who the token belongs to."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        known = self.path.startswith("/api/whoami-v2") and self.headers.get("Authorization") == "Bearer hf_standin_token"
        body = json.dumps({"type": "user", "name": HUB_USER, "fullname": "Space Owner",
                           "avatarUrl": "http://127.0.0.1/avatar.png"} if known
                          else {"error": "Invalid credentials"}).encode()
        self.send_response(200 if known else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def space_app(tmp_path, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), WhoamiHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for key, value in {"HF_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}", "HF_TOKEN": "hf_standin_token",
                       "SPACE_ID": f"{HUB_USER}/studio", "SPACE_AUTHOR_NAME": HUB_USER,
                       "OAUTH_CLIENT_ID": "standin-client", "STUDIO_DEMO": "0"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SYSTEM", raising=False)  # "spaces" would make Gradio call the real Hub
    monkeypatch.delenv("STUDIO_AUTH_FILE", raising=False)
    home = tmp_path / "home"
    try:
        with running_app(home, tmp_path / "app.log", run_pids) as url:
            # localhost: a secure context, so Chromium keeps Gradio's Secure, SameSite=None session cookie
            yield url.replace("127.0.0.1", "localhost"), home
    finally:
        server.shutdown()


def test_a_visitor_signs_in_with_hugging_face_and_the_space_owner_is_admin(space_app):
    url, home = space_app
    with chromium_page(url) as page, screenshot_on_failure(page, "hub-sign-in-failed"):
        page.set_default_timeout(90_000)  # a shared 2-core machine under load
        page.goto(url + "/")
        page.wait_for_selector("#studio-sign-in-prompt:has-text('Sign in with Hugging Face')")
        assert not page.locator("#studio-nav").is_visible()  # nothing to use before signing in
        assert not page.locator("#project-manage").is_visible()
        screenshot(page, "hub-sign-in-01-prompt", 300)

        page.click("#studio-hub-login")
        page.wait_for_selector(f"#studio-user-cell:has-text('Signed in as {HUB_USER}')")
        assert "(admin)" in page.inner_text("#studio-user-cell")  # SPACE_AUTHOR_NAME
        assert page.get_by_role("tab", name="Admin").is_visible()
        assert not page.locator("#studio-sign-in-prompt").is_visible()
        page.wait_for_selector(f"#studio-hub-login:has-text('{HUB_USER}')")  # Gradio's own label: Logout (name)
        screenshot(page, "hub-sign-in-02-signed-in", 300)
        stored = json.loads((home / "db.json").read_text())["settings"]["hub_users"]["value"]
        assert stored == {HUB_USER: "admin"}
