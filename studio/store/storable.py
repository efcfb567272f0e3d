"""Which values the database can hold, and where in a value the first one it cannot is.

db.json is UTF-8, and UTF-8 has no encoding for a lone surrogate (U+D800–U+DFFF): Python
text can carry one (from a JSON ``"\\ud800"`` escape, a YAML ``"\\uD800"``, a browser
request), but the file cannot. Such text is refused where it enters, with its field named,
instead of failing half way through a write.
"""
from __future__ import annotations

import json
import re
from typing import Any

SURROGATE_REASON = ("contains a lone surrogate character (U+D800 to U+DFFF), which is not valid "
                    "text and cannot be saved; retype it without that character")


_SURROGATE = re.compile("[\ud800-\udfff]")


def with_surrogates_replaced(value: Any) -> Any:
    """``value`` with every lone surrogate replaced by U+FFFD, for text Studio itself relays
    (a run's error message quoting bad data) and must store rather than refuse."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {with_surrogates_replaced(k): with_surrogates_replaced(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [with_surrogates_replaced(v) for v in value]
    return value


def has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def unstorable_path(value: Any, path: str = "") -> str | None:
    """The path (``dataset.train_dataframe``, ``columns[2]``) of the first text in ``value``,
    dict keys included, that UTF-8 cannot encode; None when all of it can be stored."""
    try:  # the common case costs one encoding, like the write itself
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
        return None
    except UnicodeEncodeError:
        pass
    except (TypeError, ValueError, RecursionError):
        return None  # not JSON at all: check_serializable reports that
    return _find(value, path)


def _find(value: Any, path: str) -> str | None:
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if has_surrogate(item):
                return where or "value"
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                child_path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and has_surrogate(key):
                    return f"{where or 'value'} (a key)"
                stack.append((child, child_path))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, f"{where}[{i}]") for i, child in reversed(list(enumerate(item))))
    return None
