"""Only the newest redraw of a list reaches a browser session's page.

Redraws of one list come from several events (page load, a tick, typing in the search box,
Edit, paging) and run in parallel, so one that started with old inputs can finish last: a tick
sent with the previous search text, or the page-load draw finishing after Edit's, would leave
a stale table on screen that no later event replaces (the next tick finds nothing changed).
Every redraw takes a ticket when it starts; one that ends after a newer ticket was taken for the
same session draws nothing.
"""
from __future__ import annotations

import itertools
import threading
from collections import OrderedDict

from studio.ui import session

SESSIONS_KEPT = 4096  # the oldest sessions are forgotten first: a tab long gone takes no memory


class NewestDraw:
    def __init__(self):
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._newest: OrderedDict[str, int] = OrderedDict()

    def take(self) -> tuple[str | None, int]:
        key = session.session_key()
        with self._lock:
            ticket = next(self._numbers)
            if key is not None:
                self._newest[key] = ticket
                self._newest.move_to_end(key)
                while len(self._newest) > SESSIONS_KEPT:
                    self._newest.popitem(last=False)
        return key, ticket

    def is_newest(self, taken: tuple[str | None, int]) -> bool:
        key, ticket = taken
        with self._lock:
            return key is None or self._newest.get(key, ticket) == ticket
