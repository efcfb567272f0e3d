"""The app's Gradio queue does no work of its own between and after events (see app.py)."""
from __future__ import annotations

import time

import gradio as gr

import app


def _quiet_queue():
    with gr.Blocks() as demo:
        gr.Textbox()
    demo.queue()
    app.quiet_when_idle(demo)
    return demo._queue


def test_the_queue_never_summarises_its_events_for_the_monitoring_dashboard():
    queue = _quiet_queue()
    records = [{"time": time.time(), "status": "success", "process_time": 0.01, "function": f"fn{i % 7}",
                "session_hash": "tab"} for i in range(1000)]
    queue.events_recorded = len(records)
    summary = queue.compute_analytics_summary(records)  # what Gradio calls after every event
    assert summary == {"functions": {}}  # not computed: no pandas DataFrame of 1,000 records per event


def test_the_queue_keeps_only_a_few_event_records():
    assert _quiet_queue().ANALYTICS_MAX_EVENTS == app.ANALYTICS_EVENTS_KEPT


def test_the_idle_queue_sleeps_between_checks():
    assert _quiet_queue().sleep_when_free == app.QUEUE_IDLE_SLEEP_S
