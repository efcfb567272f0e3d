"""The sign-in file (``--auth-file users.yaml``): who may sign in, with which role.

Passwords are kept only as bcrypt hashes; a file holding anything else where a hash belongs is
refused as a whole, naming the entry, so a typo never opens (or locks) the door silently. The file
is re-read when it changes on disk, so the admin page's edits and ``python -m studio.auth`` take
effect at the next sign-in without a restart. Every write holds ``<file>.lock`` and replaces the
file atomically: a crash leaves the old file or the new one, never half of one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import yaml
from filelock import FileLock

from studio.atomic_io import write_atomic

ADMIN, MEMBER = "admin", "member"
ROLES = (ADMIN, MEMBER)
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
BCRYPT_HASH = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further; a longer one is refused, not cut silently
# Checked against when the name is unknown, so a wrong name takes as long as a wrong password.
_UNKNOWN_USER_HASH = "$2b$12$QtgXrDJyjZiBAMQjMQPdLObsGfgkFoYJ4PKmTfgEqrbDVOk9SfswW"


class AuthFileError(ValueError):
    """A sign-in file that cannot be used, or a change to it that is refused; the message names the entry."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str


def hash_password(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise AuthFileError(f"password: {problem}")
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def password_problem(password: str) -> str | None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        return f"needs at least {MIN_PASSWORD_CHARS} characters"
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return f"can have at most {MAX_PASSWORD_BYTES} bytes (bcrypt ignores the rest)"
    return None


def check_user_name(name: str) -> str:
    name = str(name or "").strip()
    if not USER_NAME.match(name):
        raise AuthFileError(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '-' or '@', "
                            "starting with a letter or digit")
    return name


def check_role(role: str, where: str = "role") -> str:
    if role not in ROLES:
        raise AuthFileError(f"{where}: {role!r} is not a role; choose {' or '.join(ROLES)}")
    return role


class UserFile:
    """The users of one sign-in file; every read sees the file as it is on disk now."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser().resolve()
        self._lock = FileLock(str(self.path) + ".lock", timeout=10)
        self._cache: tuple[float, int, dict[str, User]] | None = None

    # ------------------------------------------------------------------ reading
    def users(self) -> dict[str, User]:
        """name → User (AuthFileError when the file is missing or invalid)."""
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise AuthFileError(f"{self.path}: cannot read the sign-in file ({exc.strerror})") from None
        if self._cache and self._cache[:2] == (stat.st_mtime, stat.st_size):
            return self._cache[2]
        users = parse_users(self.path.read_text(encoding="utf-8"), str(self.path))
        self._cache = (stat.st_mtime, stat.st_size, users)
        return users

    def role(self, name: str | None) -> str | None:
        try:
            user = self.users().get(name or "")
        except AuthFileError:  # a broken edit signs nobody in and grants nothing
            return None
        return user.role if user else None

    def verify(self, name: str, password: str) -> bool:
        """Gradio's ``auth`` callable: whether this name and password sign in."""
        try:
            user = self.users().get((name or "").strip())
        except AuthFileError:
            return False
        stored = user.password_hash if user else _UNKNOWN_USER_HASH
        try:
            matches = bcrypt.checkpw((password or "").encode("utf-8")[:MAX_PASSWORD_BYTES], stored.encode("ascii"))
        except ValueError:
            return False
        return matches and user is not None

    # ------------------------------------------------------------------ changing
    def add_user(self, name: str, password: str, role: str = MEMBER) -> User:
        name, role = check_user_name(name), check_role(role)
        password_hash = hash_password(password)  # slow: outside the lock
        with self._lock:
            users = self._current_or_empty()
            if name in users:
                raise AuthFileError(f"user {name!r} already exists; use set-password or set-role")
            users[name] = User(name, role, password_hash)
            if not any(u.role == ADMIN for u in users.values()):
                raise AuthFileError(f"the first user of {self.path} must be an admin (--role admin)")
            self._write(users)
        return users[name]

    def set_password(self, name: str, password: str) -> None:
        password_hash = hash_password(password)
        with self._lock:
            users = self._current()
            user = self._require(users, name)
            users[user.name] = User(user.name, user.role, password_hash)
            self._write(users)

    def set_role(self, name: str, role: str) -> None:
        role = check_role(role)
        with self._lock:
            users = self._current()
            user = self._require(users, name)
            users[user.name] = User(user.name, role, user.password_hash)
            self._check_an_admin_stays(users)
            self._write(users)

    def remove_user(self, name: str) -> None:
        with self._lock:
            users = self._current()
            del users[self._require(users, name).name]
            self._check_an_admin_stays(users)
            self._write(users)

    def _current(self) -> dict[str, User]:
        self._cache = None  # under the lock, read what is on disk now
        return dict(self.users())

    def _current_or_empty(self) -> dict[str, User]:
        return self._current() if self.path.exists() else {}

    @staticmethod
    def _require(users: dict[str, User], name: str) -> User:
        if name not in users:
            raise AuthFileError(f"there is no user {name!r}")
        return users[name]

    @staticmethod
    def _check_an_admin_stays(users: dict[str, User]) -> None:
        if not any(u.role == ADMIN for u in users.values()):
            raise AuthFileError("refused: nobody would be an admin any more (users and Settings would be unmanageable)")

    def _write(self, users: dict[str, User]) -> None:
        data = {"users": {u.name: {"role": u.role, "password_hash": u.password_hash} for u in users.values()}}
        write_atomic(self.path, yaml.safe_dump(data, sort_keys=False))
        self._cache = None


def parse_users(text: str, source: str) -> dict[str, User]:
    """Every entry checked; the first problem found is named with its path (``users.bob.role``)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AuthFileError(f"{source}: not valid YAML ({exc})") from None
    entries = data.get("users") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise AuthFileError(f"{source}: expected a top-level 'users:' mapping of name → {{role, password_hash}}; "
                            "add one with: python -m studio.auth add-user FILE NAME --role admin")
    users = {}
    for raw_name, entry in entries.items():
        where = f"{source}: users.{raw_name}"
        try:
            name = check_user_name(str(raw_name))
        except AuthFileError as exc:
            raise AuthFileError(f"{where}: {exc}") from None
        if not isinstance(entry, dict):
            raise AuthFileError(f"{where}: expected a mapping with 'role' and 'password_hash'")
        unknown = sorted(set(entry) - {"role", "password_hash"})
        if unknown:
            raise AuthFileError(f"{where}.{unknown[0]}: unknown key; an entry has only 'role' and 'password_hash' "
                                "(a plain 'password' is never stored)")
        check_role(entry.get("role"), f"{where}.role")
        password_hash = entry.get("password_hash")
        if not isinstance(password_hash, str) or not BCRYPT_HASH.match(password_hash):
            raise AuthFileError(f"{where}.password_hash: not a bcrypt hash; set it with: "
                                f"python -m studio.auth set-password FILE {name}")
        users[name] = User(name, entry["role"], password_hash)
    if not any(u.role == ADMIN for u in users.values()):
        raise AuthFileError(f"{source}: no user has role admin; give at least one user role admin")
    return users
