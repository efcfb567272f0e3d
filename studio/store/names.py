"""The rule for names people give projects, datasets and experiments: white space folded,
1 to 100 characters, plain text (no control characters, no lone surrogates, no bidi overrides)."""
from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 100
# Right-to-left overrides and isolates can make a name display as a different one.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def fold_name(name: object) -> str:
    """``name`` with runs of white space (tabs and newlines included) folded to one space."""
    return " ".join(str(name or "").split())


def name_problem(folded: str) -> str | None:
    """Why a folded, non-empty name cannot be used, or None when it can."""
    if len(folded) > MAX_NAME_LENGTH:
        return f"can have at most {MAX_NAME_LENGTH} characters (this one has {len(folded)})"
    return character_problem(folded)


def character_problem(text: str) -> str | None:
    """Why ``text`` is not plain one-line text (a control character, a lone surrogate), or None."""
    for position, char in enumerate(text, start=1):
        category = unicodedata.category(char)
        if category == "Cs":
            return f"character {position} is a lone surrogate (U+{ord(char):04X}), which is not text"
        if category == "Cc" or char in _BIDI_CONTROLS:
            return f"character {position} is the control character U+{ord(char):04X}; use plain text"
    return None


def clean_name(name: object, what: str, error: type[Exception]) -> str:
    """``name`` with its white space folded; raises ``error`` naming ``what`` ("project") when it
    is empty, too long, or holds control characters."""
    cleaned = fold_name(name)
    if not cleaned:
        raise error(f"a {what} needs a name")
    problem = name_problem(cleaned)
    if problem:
        raise error(f"{what} name: {problem}")
    return cleaned


def derived_name(base: str, suffix: str) -> str:
    """``base`` + ``suffix`` ("-rerun"), the base cut so the result stays within the limit."""
    return base[:max(0, MAX_NAME_LENGTH - len(suffix))].rstrip() + suffix
