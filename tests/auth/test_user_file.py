"""The sign-in file: bcrypt hashes only, every bad entry named, edits atomic, an admin always left."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from studio.auth import AuthFileError, UserFile
from studio.auth.startup import exposure_warning, open_user_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def users(tmp_path) -> UserFile:
    users = UserFile(tmp_path / "users.yaml")
    users.add_user("ada", "correct horse", "admin")
    users.add_user("bob", "battery staple", "member")
    return users


def test_passwords_are_stored_as_bcrypt_hashes_and_checked(users):
    text = users.path.read_text()
    assert "correct horse" not in text and "battery staple" not in text
    assert yaml.safe_load(text)["users"]["bob"]["password_hash"].startswith("$2b$")
    assert users.verify("ada", "correct horse") and users.verify("bob", "battery staple")
    assert not users.verify("ada", "battery staple")
    assert not users.verify("nobody", "correct horse")
    assert users.role("bob") == "member" and users.role("nobody") is None


@pytest.mark.parametrize("entry,named", [
    ({"role": "member", "password": "plain text"}, "users.eve.password: unknown key"),
    ({"role": "member", "password_hash": "plain text"}, "users.eve.password_hash: not a bcrypt hash"),
    ({"role": "owner", "password_hash": "$2b$12$" + "a" * 53}, "users.eve.role: 'owner' is not a role"),
])
def test_a_bad_entry_is_refused_with_its_path_named(users, entry, named):
    data = yaml.safe_load(users.path.read_text())
    data["users"]["eve"] = entry
    users.path.write_text(yaml.safe_dump(data))
    with pytest.raises(AuthFileError, match=named.replace(".", r"\.")):
        open_user_file(str(users.path))
    assert not users.verify("ada", "correct horse")  # a broken file signs nobody in


def test_the_last_admin_cannot_go_and_short_passwords_are_refused(users):
    with pytest.raises(AuthFileError, match="nobody would be an admin"):
        users.set_role("ada", "member")
    with pytest.raises(AuthFileError, match="nobody would be an admin"):
        users.remove_user("ada")
    with pytest.raises(AuthFileError, match="at least 8 characters"):
        users.add_user("cy", "short")
    users.set_role("bob", "admin")
    users.remove_user("ada")
    assert set(users.users()) == {"bob"} and users.role("bob") == "admin"


def test_command_line_adds_a_user_with_the_password_from_stdin(tmp_path):
    path = tmp_path / "team.yaml"
    for name, role in (("root", "admin"), ("dana", "member")):
        done = subprocess.run([sys.executable, "-m", "studio.auth", "add-user", str(path), name, "--role", role],
                              input="s3cret-password\n", capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert done.returncode == 0, done.stderr
    assert "s3cret-password" not in path.read_text()
    assert UserFile(path).verify("dana", "s3cret-password") and UserFile(path).role("dana") == "member"
    again = subprocess.run([sys.executable, "-m", "studio.auth", "add-user", str(path), "dana"],
                           input="another-password\n", capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert again.returncode == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr


def test_listening_beyond_this_machine_without_sign_in_warns():
    assert exposure_warning("127.0.0.1", signed_in=False) is None
    assert exposure_warning("0.0.0.0", signed_in=True) is None
    assert "without sign-in" in exposure_warning("0.0.0.0", signed_in=False)
