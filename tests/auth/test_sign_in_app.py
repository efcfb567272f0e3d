"""`python app.py --auth-file` signs people in through Gradio's own /login, and refuses a wrong password."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

from tests.auth.team_home import PASSWORDS, team_home
from tests.ui.browser_app import ROOT, running_app


def login(url: str, name: str, password: str) -> tuple[int, str, str]:
    body = urllib.parse.urlencode({"username": name, "password": password}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{url}/login", data=body), timeout=30) as reply:
            return reply.status, reply.read().decode(), reply.headers.get("Set-Cookie") or ""
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(), refused.headers.get("Set-Cookie") or ""


def test_a_wrong_password_is_refused_and_the_right_one_signs_in(tmp_path):
    home, auth_file, _ = team_home(tmp_path)
    with running_app(home, tmp_path / "app.log", lambda _home: [], args=["--auth-file", str(auth_file)]) as url:
        status, text, cookie = login(url, "ann", "not-anns-password")
        assert status == 400 and "Incorrect credentials" in text and "access-token" not in cookie
        assert login(url, "nobody", PASSWORDS["ann"])[0] == 400
        status, text, cookie = login(url, "ann", PASSWORDS["ann"])
        assert status == 200 and json.loads(text) == {"success": True} and "access-token" in cookie
        # Without the cookie the app's API answers nothing.
        try:
            urllib.request.urlopen(f"{url}/config", timeout=30)
            answered = True
        except urllib.error.HTTPError as refused:
            answered = refused.code != 401
        assert not answered


def test_a_broken_auth_file_stops_the_start_with_the_entry_named(tmp_path):
    auth_file = tmp_path / "users.yaml"
    auth_file.write_text("users:\n  ann: {role: member, password: hunter22}\n")
    done = subprocess.run([sys.executable, "app.py", "--auth-file", str(auth_file), "--port", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "STUDIO_HOME": str(tmp_path / "home")})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "Studio cannot start" in done.stderr and "users.ann.password: unknown key" in done.stderr
    assert "hunter22" not in done.stderr + done.stdout
