"""The error every dataset import, load or delete raises, with a message a user can act on."""
from __future__ import annotations


class DatasetError(Exception):
    """A dataset cannot be imported, read or deleted; the message says why and what to do."""
