"""ConfigError: every problem with a configuration, each tied to its field path."""
from __future__ import annotations

import reprlib
from typing import Any

MAX_ERRORS = 25  # a hostile document can break thousands of rules; the first ones are enough to act on


class ConfigError(ValueError):
    def __init__(self, errors: list[str]):
        errors = list(errors)
        if len(errors) > MAX_ERRORS:
            errors = errors[:MAX_ERRORS] + [f"… and {len(errors) - MAX_ERRORS:,} more problems"]
        self.errors = errors
        super().__init__("\n".join(self.errors))


class _ShortRepr(reprlib.Repr):
    def __init__(self):
        super().__init__()
        self.maxlevel, self.maxdict, self.maxlist, self.maxtuple, self.maxset = 2, 4, 4, 4, 4
        self.maxstring = self.maxother = 60

    def repr_int(self, value: int, level: int) -> str:
        # repr() of an int over 4,300 digits raises; say how big it is instead.
        if value.bit_length() > 200:
            return f"<a number of about {int(value.bit_length() * 0.30103):,} digits>"
        return repr(value)

    def repr_str(self, value: str, level: int) -> str:
        return repr(value[:57] + "…") if len(value) > 60 else repr(value)


_SHORT = _ShortRepr()


def short_repr(value: Any) -> str:
    """A value as a message quotes it: at most about 60 characters, whatever its size."""
    try:
        text = _SHORT.repr(value)
    except Exception:  # a value whose own __repr__ fails still gets a message
        return f"<a {type(value).__name__}>"
    return text if len(text) <= 80 else text[:79] + "…"
