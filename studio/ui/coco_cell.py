"""An object detection label cell: COCO-style ``{"bbox": [[x, y, w, h]], "category": [...]}``, or its JSON text."""
from __future__ import annotations

import json
from typing import Any


def annotation(value: Any) -> dict | None:
    """The cell as a dict, decoding JSON text; None when it is neither a dict nor JSON of one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, dict) else None
