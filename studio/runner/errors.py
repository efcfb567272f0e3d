"""RunError: a request to the runner that cannot be carried out, with what to do instead."""
from __future__ import annotations


class RunError(Exception):
    """Submitting, stopping, resuming or deleting a run was refused."""
