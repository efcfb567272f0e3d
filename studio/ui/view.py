"""One view (tab) of the single-page app, and how a page module wires "when shown" and "while live".

The app is one Blocks with a tab per page, so moving between pages is a tab switch and one small
request, not a page load. The address bar still names each view (``?view=experiment&id=...``):
every load/select/tick event reads ``window.location.search`` in the browser (``QUERY_JS``), so
a refresh or a shared link opens the same view, and a handler gets the parsed address as
``params`` without any session state.

Timers run only while their view is shown and something on it is live: entering the view arms
them from ``live(params)``, each tick re-checks it, and a tick that finds its view left (or
nothing live any more) switches its timer off. An idle page sends no requests at all.

Every view event shows its (hidden) progress on one component, never on all its outputs: Gradio's
page keeps a loading status for each component an event ever showed progress on and rewrites all
of them on each status message of every later event. With the outputs of every view tracked
(each view's page-load event lists them all), a list page turn kept the browser busy 0.9-2.9 s.
"""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

import gradio as gr

from studio.ui.session import with_session

HOME = "home"
# Replaces the first input (the query placeholder) with the browser's current address.
QUERY_JS = "(query, ...rest) => [window.location.search, ...rest]"
# Gradio itself selects tabs while the page opens (the first tab on mount, then the address's tab
# when the page load picks it). Those selects must not draw the view again: the page load already
# drew it, and a second draw seconds later on a busy machine overwrote what the user had typed
# meanwhile. assets/js/router.js sets window.studioMoved once the user or the app moves between
# views; until then a select sends UNMOVED instead of the address.
UNMOVED = "#unmoved"
SELECT_JS = f"(query, ...rest) => [window.studioMoved ? window.location.search : {UNMOVED!r}, ...rest]"


def parse_query(query: str | None) -> dict:
    """``?view=experiment&id=x`` → {"view": "experiment", "id": "x"} (view defaults to home)."""
    params = dict(parse_qsl((query or "").lstrip("?")))
    params.setdefault("view", HOME)
    return params


class _Chain:
    """The events a view fires on (page load, tab select, re-show), each chained on by ``then``.

    After a select Gradio made while the page opened, the rest of that chain skips too. The steps
    after a page load always run, even when the page opened on another view: a tab clicked while
    the page opens can have its select dropped by Gradio, and those steps still draw it
    (tests/ui/test_early_tab_click_browser.py).
    """

    def __init__(self, query: gr.Textbox, progress_on, steps: list):
        self.query = query
        self.progress_on = progress_on
        self.steps = steps  # (dependency, its js, should_draw(address))

    def then(self, fn, inputs: list | None = None, outputs: list | None = None, **kwargs) -> "_Chain":
        inputs, outputs = list(inputs or []), list(outputs or [])

        def step(should_draw):
            def guarded(query, *values):
                return fn(*values) if should_draw(query) else _skips(outputs)
            guarded.__name__ = getattr(fn, "__name__", "step")
            return with_session(guarded)

        kwargs = {"show_progress_on": [self.progress_on], **kwargs}
        return _Chain(self.query, self.progress_on,
                      [(d.then(step(should), [self.query] + inputs, outputs, js=js, **kwargs), js, should)
                       for d, js, should in self.steps])


class View:
    def __init__(self, name: str, tab: gr.Tab, demo: gr.Blocks, query: gr.Textbox, project_events: list):
        self.name = name
        self.tab = tab
        self.demo = demo
        self.query = query
        self.project_events = project_events  # the header's project switch/create/rename
        self._timers: list[tuple[gr.Timer, Callable[[dict], bool]]] = []
        # Clicking the tab that is already shown fires nothing, so moving from one experiment
        # to another (same view, new address) presses this hidden button instead.
        self.reshow = gr.Button(f"Show {name}", elem_id=f"reshow-{name}", elem_classes=["studio-hidden"])

    # ------------------------------------------------------------------ when shown
    def load(self, fn: Callable, inputs: list | None = None, outputs: list | None = None, *,
             params: bool = False, **kwargs) -> _Chain:
        """Run ``fn(*inputs)`` (``fn(params, *inputs)`` with ``params=True``) when the view is shown.

        Shown means: the page was opened on this view's address, or the user moved to it.
        """
        inputs, outputs = list(inputs or []), list(outputs or [])

        opened_here = lambda query: parse_query(query)["view"] == self.name  # noqa: E731
        moved = lambda query: query != UNMOVED  # noqa: E731

        def drawing(should_draw):
            def draw(query, *values):
                if not should_draw(query):  # the page opened on another view, or Gradio's own select
                    return _skips(outputs)
                return fn(parse_query(query), *values) if params else fn(*values)
            return with_session(draw)

        common = {"show_progress": "hidden", "show_progress_on": [self.reshow], **kwargs}
        load = self.demo.load(drawing(opened_here), [self.query] + inputs, outputs, js=QUERY_JS, **common)
        select = self.tab.select(drawing(moved), [self.query] + inputs, outputs, js=SELECT_JS, **common)
        reshow = self.reshow.click(drawing(moved), [self.query] + inputs, outputs, js=SELECT_JS, **common)
        return _Chain(self.query, self.reshow, [(load, QUERY_JS, lambda _query: True), (select, SELECT_JS, moved),
                                   (reshow, SELECT_JS, moved)])

    def on_project_change(self, fn: Callable, inputs: list | None = None, outputs: list | None = None) -> None:
        for event in self.project_events:
            event.then(with_session(fn), inputs, outputs, show_progress_on=[self.reshow])

    # ------------------------------------------------------------------ while live
    def poll(self, timer: gr.Timer, fn: Callable, inputs: list, outputs: list,
             live: Callable[[dict], bool], **kwargs) -> None:
        """Tick ``fn`` while this view is shown and ``live(params)``; the timer must start inactive."""
        self._timers.append((timer, live))

        def tick(query, *values):
            found = parse_query(query)
            if found["view"] != self.name:
                return [gr.Timer(active=False)] + _skips(outputs, as_list=True)
            result = fn(*values)
            result = list(result) if isinstance(result, (list, tuple)) else [result]
            return [gr.Timer(active=bool(live(found)))] + result

        timer.tick(with_session(tick), [self.query] + list(inputs), [timer] + list(outputs), js=QUERY_JS,
                   show_progress="hidden", show_progress_on=[timer], **kwargs)

    def arm_timers(self, query: str | None = None):
        return self._arm(parse_query(query))

    def _arm(self, found: dict):
        mine = found["view"] == self.name
        updates = [gr.Timer(active=mine and bool(live(found))) for _, live in self._timers]
        return updates[0] if len(updates) == 1 else updates

    def rearm(self, dependency) -> None:
        """After ``dependency`` (e.g. Resume) re-check whether this view's timers should run."""
        if self._timers:
            dependency.then(self.arm_timers, [self.query], [t for t, _ in self._timers], js=QUERY_JS,
                            show_progress="hidden", show_progress_on=[self.reshow])

    def finish(self) -> None:
        """Arm the timers whenever the view is shown (called once the page module is built)."""
        if self._timers:
            self.load(self._arm, None, [t for t, _ in self._timers], params=True)


def _skips(outputs: list, as_list: bool = False):
    if len(outputs) == 1 and not as_list:
        return gr.skip()
    return [gr.skip()] * len(outputs)
