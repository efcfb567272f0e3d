"""The app's Gradio queue does no work of its own between and after events (see app.py)."""
from __future__ import annotations

import time

import gradio as gr

import app
from gradio_client import Client

from studio.services.serve_process import free_port
from studio.ui import queue_wake
from studio.ui.queue_wake import WakeableDelay


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


def test_the_idle_queue_sleeps_until_there_is_work():
    queue = _quiet_queue()
    assert isinstance(queue.sleep_when_free, WakeableDelay)
    assert queue.sleep_when_free == queue_wake.IDLE_SLEEP_S
    assert isinstance(queue.progress_update_sleep_when_free, WakeableDelay)


def test_an_event_sent_to_an_idle_app_starts_at_once(monkeypatch):
    """A queue asleep for 30 s is woken by the event's arrival (and by each finished job)."""
    monkeypatch.setattr(queue_wake, "IDLE_SLEEP_S", 30.0)
    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(lambda text: text.upper(), box, box, api_name="shout")
    demo.queue()
    app.quiet_when_idle(demo)
    assert demo._queue.sleep_when_free == 30.0
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                            quiet=True, _frontend=False)
    try:
        client = Client(url, verbose=False)
        time.sleep(1.5)  # the loop is asleep now
        for word in ("one", "two", "three"):
            started = time.monotonic()
            assert client.predict(word, api_name="/shout") == word.upper()
            assert time.monotonic() - started < 10  # not the 30 s sleep
    finally:
        demo.close()
