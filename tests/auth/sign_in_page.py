"""Signing in on Gradio's own login page, as a browser test's user does."""
from __future__ import annotations

from tests.auth.team_home import PASSWORDS


def open_address(page, address: str) -> None:
    """``page.goto``, once more when the page's own reload after signing in aborted it."""
    try:
        page.goto(address)
    except Exception as exc:  # playwright's Error: net::ERR_ABORTED
        if "ERR_ABORTED" not in str(exc):
            raise
        page.goto(address)


def sign_in(page, name: str) -> None:
    open_address(page, page.base + "/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Login").click()
    page.wait_for_selector(f"#studio-user-cell:has-text('Signed in as {name}')")
