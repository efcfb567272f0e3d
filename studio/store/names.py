"""The rule for names people give projects and datasets: white space folded, 1 to 100 characters."""
from __future__ import annotations

MAX_NAME_LENGTH = 100


def clean_name(name: object, what: str, error: type[Exception]) -> str:
    """``name`` with its white space folded; raises ``error`` naming ``what`` ("project") when empty or too long."""
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise error(f"a {what} needs a name")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise error(f"a {what} name can have at most {MAX_NAME_LENGTH} characters")
    return cleaned
