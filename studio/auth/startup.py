"""What ``python app.py`` decides about sign-in before it serves anything."""
from __future__ import annotations

import ipaddress
import os

from .users import AuthFileError, UserFile

AUTH_FILE_ENV = "STUDIO_AUTH_FILE"
SIGN_IN_MESSAGE = "Sign in to Studio. An admin adds users with: python -m studio.auth add-user FILE NAME"


def open_user_file(path: str | None) -> UserFile | None:
    """The sign-in file named by ``--auth-file`` (else STUDIO_AUTH_FILE), checked now so a broken
    one stops the start with its entry named; None: no sign-in (single-user)."""
    path = path or os.environ.get(AUTH_FILE_ENV, "").strip()
    if not path:
        return None
    users = UserFile(path)
    users.users()  # AuthFileError naming the file and entry
    return users


def is_loopback(host: str) -> bool:
    if host.strip().lower() in ("localhost", ""):
        return host.strip() != ""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost: reachable from elsewhere, as far as we know
        return False


def exposure_warning(host: str, signed_in: bool) -> str | None:
    """A warning when anyone who reaches the port could use this Studio."""
    if signed_in or is_loopback(host):
        return None
    return (f"WARNING: Studio listens on {host} without sign-in: anyone who reaches this port can train, "
            f"deploy, push with the stored token and delete. Start it with --auth-file users.yaml "
            f"(python -m studio.auth add-user users.yaml NAME --role admin), or listen on 127.0.0.1.")


__all__ = ["AUTH_FILE_ENV", "AuthFileError", "exposure_warning", "is_loopback", "open_user_file"]
