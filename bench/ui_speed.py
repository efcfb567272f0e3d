"""How fast and how quiet the web app is, measured through Chromium like a user sees it.

    python bench/ui_speed.py [--rows 5000] [--idle-s 20] [--repeats 3]

Seeds temporary STUDIO_HOMEs (never your real one), starts ``python app.py`` on a free port and
prints, each figure the best/median of a few tries since the machine may be shared:

- navigation: milliseconds from a click in the header to the page's content, per page, and from
  a row of the Experiments list to that experiment's view with its chart drawn;
- idle requests per minute of an idle Experiments page and of a completed run's page;
- the app process's CPU (psutil, % of one core) with nothing running and no tab, with one tab,
  and with 4 live runs and 2 tabs (the list and a live run's page);
- the 5,000-experiment list through the UI: open, search, sort, next page.

The 4 live runs are small writer processes that follow the run-folder contract (status.json,
metrics.jsonl and train.log growing every second) and that the app's runner reattaches to: the
bench measures what watching costs the app, not what training costs the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DEMO_CSV = ROOT / "assets" / "data" / "demo_instructions.csv"
# What shows that each page has its content (elem_ids the pages give their main parts).
PAGES = {
    "Datasets": "#datasets-table [role=gridcell]",
    "Experiments": "#experiments-table [role=gridcell]",
    "Deployments": "#deployments-table",
    "Chat": "#chat-source",
    "Settings": "#setting-price input",
    "Home": "#card-datasets",
}
LIVE_RUNS = 4


# ---------------------------------------------------------------- seeding
def seed_home(home: Path) -> dict:
    """A project with the demo dataset and one experiment trained to Completed by the real engine."""
    from training.tiny_models import build_llama
    from studio.datasets import import_dataset
    from studio.runner.run_folder_reader import read_final_metrics
    from studio.runner.supervisor import Supervisor
    from studio.services.experiments import ExperimentService
    from studio.store import Store
    from studio.store.database import forget_database

    model_dir = build_llama(home.parent / "tiny-llama")
    store = Store(home)
    project_id = store.projects.default()["id"]
    dataset = import_dataset(store, DEMO_CSV, DEMO_CSV.name, "demo_instructions", project_id)
    service = ExperimentService(store, Supervisor(store, home, gpus=[]), home)
    row = service.create({"experiment_name": "bench-completed", "llm_backbone": str(model_dir),
                          "dataset": {"train_dataset_id": dataset["id"]}, "tokenizer": {"max_length": 32},
                          "training": {"batch_size": 8, "epochs": 1, "evaluation_epochs": 1},
                          "prediction": {"metrics": ["Perplexity"], "max_length_inference": 4}}, project_id)
    run_dir = service.run_dir(row["id"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDIO_HOME": str(home), "OMP_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-m", "training", str(run_dir)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit("the seed run failed:\n" + done.stderr[-3000:])
    final = read_final_metrics(run_dir)
    store.experiments.update(row["id"], status="Completed", progress=1.0, final_metrics=final,
                             metric_name="Perplexity", best_metric=final.get("Perplexity"))
    forget_database(home / "db.json")
    return {"experiment": row, "dataset": dataset, "model_dir": model_dir, "project_id": project_id}


def seed_live_runs(home: Path, seeded: dict) -> list[subprocess.Popen]:
    """4 experiments in Training, each with a writer process the app's runner reattaches to."""
    from studio.runner.supervisor import Supervisor
    from studio.services.experiments import ExperimentService
    from studio.store import Store
    from studio.store.database import forget_database
    from studio.store.records import utc_now

    store = Store(home)
    service = ExperimentService(store, Supervisor(store, home, gpus=[]), home)
    writers = []
    for i in range(LIVE_RUNS):
        row = service.create({"experiment_name": f"bench-live-{i}", "llm_backbone": str(seeded["model_dir"]),
                              "dataset": {"train_dataset_id": seeded["dataset"]["id"]}}, seeded["project_id"])
        run_dir = service.run_dir(row["id"])
        writer = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--live-writer", str(run_dir)],
                                  start_new_session=True)
        writers.append(writer)
        store.experiments.update(row["id"], status="Training", stage="epoch 1/1", progress=0.0, pid=writer.pid,
                                 started=utc_now())
    forget_database(home / "db.json")
    return writers


def live_writer(run_dir: Path) -> None:
    """What a training process shows the app, once a second: status, a loss, a log line."""
    from studio.atomic_io import write_json_atomic

    started = time.time()
    for step in range(1, 100_000):
        write_json_atomic(run_dir / "status.json", {
            "status": "Training", "stage": f"epoch 1/1, step {step}", "progress": min(0.99, step / 10_000),
            "pid": os.getpid(), "started": started, "updated": time.time(), "error": None})
        with open(run_dir / "metrics.jsonl", "a") as out:
            out.write(json.dumps({"step": step, "epoch": step / 10_000, "time": time.time(), "split": "train",
                                  "name": "loss", "value": 3.0 / (1 + step / 50)}) + "\n")
        with open(run_dir / "train.log", "a") as out:
            out.write(f"step {step} loss {3.0 / (1 + step / 50):.4f}\n")
        time.sleep(1.0)


def seed_many(home: Path, rows: int) -> None:
    """``rows`` experiments written in one go (the store benchmark's rows)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from store_list_5000 import seed

    seed(home, rows)
    db = json.loads((home / "db.json").read_text())
    rng = random.Random(1)
    for row in db["experiments"].values():  # ended runs: the runner has nothing to reattach to
        row.update(status=rng.choice(["Completed", "Failed", "Stopped"]), gpus=[], pid=None)
    (home / "db.json").write_text(json.dumps(db))


# ---------------------------------------------------------------- the app and the browser
@contextmanager
def running_app(home: Path):
    from studio.services.serve_process import free_port

    port = free_port()
    env = {**os.environ, "STUDIO_HOME": str(home), "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(home.parent / f"app-{port}.log", "wb")
    process = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    raise SystemExit("the app did not start: " + Path(log.name).read_text()[-3000:])
                time.sleep(0.5)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def app_cpu_percent(pid: int, seconds: float) -> float:
    """% of one core the app process (and its threads) used over ``seconds``."""
    import psutil

    process = psutil.Process(pid)
    process.cpu_percent(None)
    time.sleep(seconds)
    return process.cpu_percent(None)


def new_tab(browser, url: str | None = None):
    tab = browser.new_page(viewport={"width": 1440, "height": 1000})
    tab.set_default_timeout(60_000)
    if url:
        tab.goto(url)
    return tab


def click_nav(tab, name: str) -> None:
    tab.wait_for_selector("#studio-nav, nav a")  # the page has drawn its navigation
    nav = tab.locator("#studio-nav")
    if nav.count():
        nav.get_by_text(name, exact=True).first.click()
    else:  # Gradio's own navigation bar (one page per URL)
        tab.get_by_role("link", name=name, exact=True).first.click()


def type_into(box, text: str) -> None:
    """Set a textbox as typing does, with one keystroke: Playwright's fill alone fires no Gradio input event."""
    if text:
        box.fill(text[:-1])
        box.press(text[-1])
    else:  # not fired by Gradio 6.31 in this bench (neither Backspace nor fill); users clear by typing
        box.press("Control+a")
        box.press("Backspace")


def timed(action, wait) -> float:
    start = time.perf_counter()
    action()
    wait()
    return (time.perf_counter() - start) * 1000


def requests_per_minute(tab, seconds: float) -> float:
    sent = []
    listener = lambda request: sent.append(request.url)  # noqa: E731
    tab.on("request", listener)
    tab.wait_for_timeout(seconds * 1000)
    tab.remove_listener("request", listener)
    return len(sent) * 60 / seconds


def wait_visible(tab, selector: str) -> None:
    tab.locator(selector).first.wait_for(state="visible")


# ---------------------------------------------------------------- measurements
def navigation(tab, base: str, experiment: dict, repeats: int) -> dict[str, float]:
    tab.goto(base + "/")
    wait_visible(tab, PAGES["Home"])
    times: dict[str, list[float]] = {name: [] for name in PAGES}
    times["list row → experiment"] = []
    for _ in range(repeats):
        for name, selector in PAGES.items():
            times[name].append(timed(lambda: click_nav(tab, name), lambda: wait_visible(tab, selector)))
            tab.wait_for_timeout(300)
        click_nav(tab, "Experiments")
        wait_visible(tab, PAGES["Experiments"])
        tab.wait_for_timeout(300)
        row = tab.locator("#experiments-table [role=gridcell]", has_text=experiment["name"]).first
        times["list row → experiment"].append(timed(
            row.click, lambda: (tab.locator("#experiment-header", has_text=experiment["name"]).wait_for(),
                                wait_visible(tab, "#metrics-chart .js-plotly-plot"))))
        click_nav(tab, "Home")
        wait_visible(tab, PAGES["Home"])
    return {name: statistics.median(values) for name, values in times.items()}


def idle_figures(browser, base: str, pid: int, experiment: dict, idle_s: float) -> dict[str, float]:
    figures = {"app CPU %, nothing running, no tab": app_cpu_percent(pid, idle_s)}
    tab = new_tab(browser, base + "/")
    click_nav(tab, "Experiments")
    wait_visible(tab, PAGES["Experiments"])
    tab.wait_for_timeout(3000)
    figures["app CPU %, nothing running, Experiments tab"] = app_cpu_percent(pid, idle_s)
    figures["requests/min, idle Experiments page"] = requests_per_minute(tab, idle_s)
    tab.locator("#experiments-table [role=gridcell]", has_text=experiment["name"]).first.click()
    wait_visible(tab, "#metrics-chart .js-plotly-plot")
    tab.wait_for_timeout(3000)
    figures["requests/min, idle completed-run page"] = requests_per_minute(tab, idle_s)
    tab.close()
    return figures


def live_figures(browser, base: str, pid: int, idle_s: float) -> dict[str, float]:
    lists = new_tab(browser, base + "/")
    click_nav(lists, "Experiments")
    wait_visible(lists, PAGES["Experiments"])
    detail = new_tab(browser, base + "/")
    click_nav(detail, "Experiments")
    wait_visible(detail, PAGES["Experiments"])
    detail.locator("#experiments-table [role=gridcell]", has_text="bench-live-0").first.click()
    wait_visible(detail, "#metrics-chart .js-plotly-plot")
    detail.wait_for_timeout(3000)
    figures = {f"app CPU %, {LIVE_RUNS} live runs, 2 tabs": app_cpu_percent(pid, idle_s),
               "requests/min, live run page": requests_per_minute(detail, min(idle_s, 10))}
    lists.close()
    detail.close()
    return figures


def list_figures(browser, base: str, repeats: int) -> dict[str, float]:
    tab = new_tab(browser, base + "/")
    wait_visible(tab, PAGES["Home"])
    label = tab.locator("#page-label")

    def label_is(text):
        return lambda: tab.wait_for_function(
            "t => document.querySelector('#page-label')?.innerText.includes(t)", arg=text)

    def first_cell_changes(action):
        before = tab.locator("#experiments-table [role=gridcell]").first.inner_text()
        return timed(action, lambda: tab.wait_for_function(
            "b => { const c = document.querySelector('#experiments-table [role=gridcell]');"
            " return c && c.innerText !== b; }", arg=before))

    results: dict[str, list[float]] = {"open": [], "search": [], "sort": [], "next page": []}
    search = tab.locator("#experiment-search textarea, #experiment-search input").first
    for i in range(repeats):
        results["open"].append(timed(lambda: click_nav(tab, "Experiments"), label_is("page 1/")))
        query = f"experiment-0{i}1"
        # Timed from the last keystroke, as a user sees it: the ones before it ran their own searches.
        type_into(search, query[:-1])
        label_is(" of 1000 ")()
        tab.wait_for_timeout(300)
        results["search"].append(timed(lambda: search.press(query[-1]), label_is("of 100 ")))
        tab.reload()  # back to the whole list (a cleared box is not timed: see type_into)
        label_is("page 1/")()
        tab.locator("#experiment-sort input").click()
        option = tab.get_by_role("option", name="Best metric: high → low" if i % 2 == 0 else "Best metric: low → high")
        option.wait_for(state="visible")  # timed from the click on the option, not the menu's opening
        tab.wait_for_timeout(300)
        results["sort"].append(first_cell_changes(option.click))
        following = tab.locator("#experiments-next")
        following.wait_for()  # found before the clock starts: a role query over the whole page costs ~0.1 s itself
        tab.wait_for_timeout(300)  # the sort's page has finished drawing
        results["next page"].append(timed(following.click,
                                          label_is("page 2/")))
        tab.locator("#experiments-previous").click()
        label_is("page 1/")()
        click_nav(tab, "Home")
        wait_visible(tab, PAGES["Home"])
    label.count()
    tab.close()
    return {name: statistics.median(values) for name, values in results.items()}


class Figures(dict):
    """Printed as they are measured, so a long run shows progress."""

    def __setitem__(self, name, value):
        super().__setitem__(name, value)
        print(f"{name:>55}: {value:8.1f}", flush=True)

    def update(self, other):
        for name, value in other.items():
            self[name] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--idle-s", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], choices=["navigation", "idle", "live", "list"])
    parser.add_argument("--live-writer", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.live_writer:
        return live_writer(args.live_writer)

    from playwright.sync_api import sync_playwright

    figures = Figures()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        home = Path(tmp) / "home"
        home.mkdir()
        seeded = seed_home(home)
        with running_app(home) as (base, pid):
            time.sleep(5)  # let the start settle (imports, first reads)
            if "navigation" not in args.skip:
                tab = new_tab(browser)
                for name, value in navigation(tab, base, seeded["experiment"], args.repeats).items():
                    figures[f"navigation ms: {name}"] = value
                tab.close()
            if "idle" not in args.skip:
                figures.update(idle_figures(browser, base, pid, seeded["experiment"], args.idle_s))
        if "live" not in args.skip:
            writers = seed_live_runs(home, seeded)
            try:
                with running_app(home) as (base, pid):
                    time.sleep(5)
                    figures.update(live_figures(browser, base, pid, args.idle_s))
            finally:
                for writer in writers:
                    writer.kill()
        if "list" not in args.skip:
            many = Path(tmp) / "many"
            many.mkdir()
            seed_many(many, args.rows)
            with running_app(many) as (base, _pid):
                time.sleep(5)
                for name, value in list_figures(browser, base, args.repeats).items():
                    figures[f"{args.rows}-row list ms: {name}"] = value
        browser.close()


if __name__ == "__main__":
    random.seed(0)
    main()
