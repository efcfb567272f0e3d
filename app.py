"""Start Studio: ``python app.py [--port N] [--host H] [--auth-file users.yaml]``; data lives under STUDIO_HOME.

On a Hugging Face Space with ``hf_oauth: true`` (and no users file) visitors sign in with Hugging Face.

Training runs are separate processes: they keep going when the browser tab closes or this
app stops, and the app reattaches to them when it starts again.
"""
from __future__ import annotations

import argparse
import os

from studio.auth.hub_users import HubUsers, hub_sign_in_requested
from studio.auth.startup import SIGN_IN_MESSAGE, AuthFileError, exposure_warning, open_user_file
from studio.config.data_bounds import MAX_UPLOAD_BYTES
from studio.datasets import DatasetError
from studio.paths import studio_home
from studio.services.context import AppContext
from studio.services.demo import DemoError, demo_requested, seed_demo
from studio.services.limits import apply_demo_defaults
from studio.store import StoreError
from studio.store.home_lock import HomeLock
from studio.ui.app import build_app, css, head, legacy_routes
from studio.ui.queue_wake import wake_on_work


# Gradio's queue checks for new events every 1 ms while idle and every 10 ms for progress: about
# 5-6% of a core with nothing to do (measured on the 2-core machine). studio/ui/queue_wake.py makes
# both sleep until there is work; where it cannot, 20 ms keeps an event's start well under what a
# user notices.
QUEUE_IDLE_SLEEP_S = 0.02
PROGRESS_IDLE_SLEEP_S = 0.1


# After every event Gradio's queue rebuilds a pandas summary of the last 10,000 events for its
# monitoring dashboard (off unless launched with enable_monitoring): 50-80 ms of CPU per event,
# measured on the 2-core machine, so most of what a polling tab or a tab switch cost the app.
# Studio never enables that dashboard; it keeps only a few records and never summarises them.
ANALYTICS_EVENTS_KEPT = 100
NEVER = 2**62


def quiet_when_idle(demo) -> None:
    queue = getattr(demo, "_queue", None)
    if queue is not None and hasattr(queue, "sleep_when_free"):
        if not wake_on_work(queue):
            queue.sleep_when_free = QUEUE_IDLE_SLEEP_S
            queue.progress_update_sleep_when_free = PROGRESS_IDLE_SLEEP_S
    if queue is not None and hasattr(queue, "ANAYLTICS_CACHE_FREQUENCY"):  # Gradio's spelling
        queue.ANAYLTICS_CACHE_FREQUENCY = NEVER
        queue.ANALYTICS_MAX_EVENTS = ANALYTICS_EVENTS_KEPT


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Studio: an open LLM fine-tuning studio")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--demo", action="store_true",
                        help="seed an empty Studio with demo datasets and tiny models (on by default on a Space)")
    parser.add_argument("--auth-file", default=None,
                        help="sign-in file of users (bcrypt-hashed passwords, role admin|member); "
                             "default: STUDIO_AUTH_FILE; without one Studio is single-user")
    args = parser.parse_args(argv)
    try:
        users = open_user_file(args.auth_file)
    except AuthFileError as exc:
        raise SystemExit(f"Studio cannot start: {exc}") from None
    hub_sign_in = users is None and hub_sign_in_requested()  # a Space with hf_oauth: true
    warning = exposure_warning(args.host, signed_in=users is not None or hub_sign_in)
    if warning:
        print(warning, flush=True)

    home = studio_home()
    # Taken before restart recovery or any other write, held until this process ends.
    lock = HomeLock(home, role="app", url=f"http://{args.host}:{args.port}")
    try:
        lock.acquire()
        ctx = AppContext.open(home)
    except StoreError as exc:  # another app on this folder, or a corrupt database: touch nothing
        lock.release()
        raise SystemExit(f"Studio cannot start: {exc}") from None
    ctx.users = HubUsers(ctx.store) if hub_sign_in else users
    if demo_requested(args.demo):
        ctx.demo = True
        try:
            apply_demo_defaults(ctx.store)  # once per store: an operator's later changes stay
            seed_demo(ctx.store, home)
        except (DemoError, DatasetError, StoreError, OSError) as exc:  # the app still starts, unseeded
            print(f"Demo seeding stopped: {exc}")
    demo = build_app(ctx)
    try:
        demo.queue(default_concurrency_limit=8)
        quiet_when_idle(demo)
        demo.launch(
            server_name=args.host, server_port=args.port, css=css(), head=head(), show_error=True,
            footer_links=[],  # nothing under STUDIO_HOME is served as a file; downloads expire
            max_file_size=MAX_UPLOAD_BYTES,  # the importer checks it too, for uploads that skip Gradio
            app_kwargs={"routes": legacy_routes()},
            # Gradio's own sign-in page and session cookie; the file is re-read when it changes.
            auth=users.verify if users is not None else None, auth_message=SIGN_IN_MESSAGE,
            # Gradio's 3 s probe of its own first page fails on a loaded machine (measured 3.4 s on
            # 2 busy cores) and then refuses to start; the server is up either way.
            _frontend=False)
    finally:
        ctx.close()  # stops watching; the training processes keep running
        lock.release()


if __name__ == "__main__":
    main()
