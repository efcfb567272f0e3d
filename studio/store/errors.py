"""Typed errors of the Studio database, with messages a user can act on."""
from __future__ import annotations


class StoreError(Exception):
    """The database cannot be read or written, or a request breaks one of its rules."""


class NotFoundError(StoreError, KeyError):
    """A record asked for by id does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(StoreError):
    """A name that must be unique (project name) is already taken."""
