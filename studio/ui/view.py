"""One view (tab) of the single-page app, and how a page module wires "when shown" and "while live".

The app is one Blocks with a tab per page, so moving between pages is a tab switch and one small
request, not a page load: all a view does when shown (its ``load`` steps, their ``then`` and
arming its timers) runs in ONE Gradio event. Each event costs the page a request, a reply and a
pass of Gradio's own status bookkeeping over the page (50-70 ms of browser main thread each on
the 2-core machine), so a view of three events took three times as long to show.

The address bar still names each view (``?view=experiment&id=...``): every load/select/tick event
reads ``window.location.search`` in the browser (``QUERY_JS``), so a refresh or a shared link opens
the same view, and a handler gets the parsed address as ``params`` without any session state.

Timers run only while their view is shown and something on it is live: entering the view arms
them from ``live(params)``, each tick re-checks it, and a tick that finds its view left (or
nothing live any more) switches its timer off. An idle page sends no requests at all.

Every view event shows its (hidden) progress on one component, never on all its outputs: Gradio's
page keeps a loading status for each component an event ever showed progress on and rewrites all
of them on each status message of every later event. With the outputs of every view tracked
(each view's page-load event lists them all), a list page turn kept the browser busy 0.9-2.9 s.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl

import gradio as gr
from gradio.blocks import Block

from studio.ui.session import with_session

log = logging.getLogger(__name__)
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


class _Step:
    """One thing a view does when shown; ``then`` adds the next one to the same event."""

    def __init__(self, view: "View"):
        self.view = view

    def then(self, fn: Callable, inputs: list | None = None, outputs: list | None = None) -> "_Step":
        return self.view.load(fn, inputs, outputs)


class View:
    def __init__(self, name: str, tab: gr.Tab, demo: gr.Blocks, query: gr.Textbox, project_events: list):
        self.name = name
        self.tab = tab
        self.demo = demo
        self.query = query
        self.project_events = project_events  # the header's project switch/create/rename
        self._timers: list[tuple[gr.Timer, Callable[[dict], bool]]] = []
        self._steps: list[tuple[Callable, list, list, bool]] = []
        # Clicking the tab that is already shown fires nothing, so moving from one experiment
        # to another (same view, new address) presses this hidden button instead.
        self.reshow = gr.Button(f"Show {name}", elem_id=f"reshow-{name}", elem_classes=["studio-hidden"])

    # ------------------------------------------------------------------ when shown
    def load(self, fn: Callable, inputs: list | None = None, outputs: list | None = None, *,
             params: bool = False) -> _Step:
        """Run ``fn(*inputs)`` (``fn(params, *inputs)`` with ``params=True``) when the view is shown.

        Shown means: the page was opened on this view's address, or the user moved to it. The steps
        run in the order they were added, in one event; a step reads what an earlier one output.
        """
        self._steps.append((fn, list(inputs or []), list(outputs or []), params))
        return _Step(self)

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
        """Wire the view's steps, timers armed last, as one event per way of showing it (called once
        the page module is built)."""
        if self._timers:
            self.load(self._arm, None, [t for t, _ in self._timers], params=True)
        if not self._steps:
            return
        inputs = _unique(c for _, step_inputs, _, _ in self._steps for c in step_inputs)
        outputs = _unique(c for _, _, step_outputs, _ in self._steps for c in step_outputs)
        show = _show_all(self._steps, inputs, outputs)

        def drawing(should_draw):
            def draw(query, *values):
                if not should_draw(query):
                    return _skips(outputs, as_list=True)
                return show(parse_query(query), values)
            return with_session(draw)

        opened_here = lambda query: parse_query(query)["view"] == self.name  # noqa: E731
        moved = lambda query: query != UNMOVED  # noqa: E731  (not Gradio's own select while the page opens)
        common = {"show_progress": "hidden", "show_progress_on": [self.reshow]}
        self.demo.load(drawing(opened_here), [self.query] + inputs, outputs, js=QUERY_JS, **common)
        self.tab.select(drawing(moved), [self.query] + inputs, outputs, js=SELECT_JS, **common)
        self.reshow.click(drawing(moved), [self.query] + inputs, outputs, js=SELECT_JS, **common)


def _show_all(steps: list, inputs: list, outputs: list) -> Callable:
    """A handler running every step in order: what each returns for a component lands on it, and a
    later step that reads that component gets it (the page has not seen it yet)."""
    def show(found: dict, values) -> list:
        known = dict(zip(map(id, inputs), values))
        drawn: dict[int, object] = {}
        for fn, step_inputs, step_outputs, with_params in steps:
            args = [known.get(id(c)) for c in step_inputs]
            try:
                result = fn(found, *args) if with_params else fn(*args)
            except Exception:  # one broken part of a view must not leave the rest of it undrawn
                log.exception("drawing %s (%s)", found.get("view"), getattr(fn, "__name__", "a step"))
                gr.Warning("Part of this page could not be drawn (the app log says why).")
                continue
            if len(step_outputs) == 1:
                result = [result]
            for component, value in zip(step_outputs, result if step_outputs else []):
                drawn[id(component)] = _merged(drawn.get(id(component)), value)
                if _is_update(value):
                    if "value" in value:
                        known[id(component)] = value["value"]
                elif not isinstance(value, Block):  # a component returned as its update
                    known[id(component)] = value
        return [drawn.get(id(c), gr.skip()) for c in outputs]
    return show


def _unique(components) -> list:
    seen, kept = set(), []
    for component in components:
        if id(component) not in seen:
            seen.add(id(component))
            kept.append(component)
    return kept


def _is_update(value) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update"


def _merged(earlier, later):
    """What a component shows when two steps output it: the later one, on top of the earlier one."""
    if earlier is None:
        return later
    if _is_update(later) and len(later) == 1:  # gr.skip(): nothing new
        return earlier
    if _is_update(earlier) and _is_update(later):
        return {**earlier, **later}
    return later


def _skips(outputs: list, as_list: bool = False):
    if len(outputs) == 1 and not as_list:
        return gr.skip()
    return [gr.skip()] * len(outputs)
