"""ExperimentService with a real store and runner queue (the runner thread is not started,
so nothing trains: these tests are about what gets stored, written and queued)."""
from __future__ import annotations

import pytest
import yaml

from studio.config import ConfigError
from studio.runner.supervisor import Supervisor
from studio.services.experiment_list import ExperimentList
from studio.services.experiments import ExperimentService
from studio.store import Store


@pytest.fixture()
def service(studio_home):
    store = Store(studio_home)
    supervisor = Supervisor(store, studio_home, gpus=[])
    return ExperimentService(store, supervisor, studio_home)


@pytest.fixture()
def dataset(service):
    return service.store.datasets.add({"name": "demo-instructions", "rows": 10})


def test_create_stores_row_writes_config_and_queues(service, dataset):
    row = service.create(f"dataset: {{train_dataset_id: {dataset['id']}}}\ntraining: {{epochs: 2}}\n")
    assert row["status"] == "Queued"
    assert row["dataset_name"] == "demo-instructions"
    assert row["name"]  # generated from the backbone when blank
    assert service.supervisor.queued_ids() == [row["id"]]
    written = yaml.safe_load((service.run_dir(row["id"]) / "config.yaml").read_text())
    assert written["training"]["epochs"] == 2
    assert written["experiment_name"] == row["name"]
    assert yaml.safe_load(row["config"])["training"] == {"epochs": 2}


def test_invalid_config_raises_field_errors_and_stores_nothing(service, dataset):
    with pytest.raises(ConfigError) as caught:
        service.create(f"dataset: {{train_dataset_id: {dataset['id']}}}\ntraining: {{learning_rate: -1}}\n")
    assert any(e.startswith("training.learning_rate:") for e in caught.value.errors)
    with pytest.raises(ConfigError) as caught:
        service.create("dataset: {train_dataset_id: nope}\n")
    assert caught.value.errors[0].startswith("dataset.train_dataset_id:")
    assert service.store.experiments.list() == []
    assert not (service.home / "runs").exists() or not any((service.home / "runs").iterdir())


def test_rerun_and_copy_link_to_the_source(service, dataset):
    source = service.create({"experiment_name": "base", "dataset": {"train_dataset_id": dataset["id"]},
                             "training": {"lora_rank": 8}})
    rerun = service.rerun(source["id"])
    assert (rerun["connected_to"], rerun["connection"]) == (source["id"], "rerun")
    assert yaml.safe_load(rerun["config"])["training"] == {"lora_rank": 8}

    copy_yaml = service.copy_yaml(source["id"])
    assert yaml.safe_load(copy_yaml)["experiment_name"] == "base-copy"
    copy = service.create(copy_yaml, source_id=source["id"], connection="copy")
    assert copy["connection"] == "copy"
    family = {r["id"] for r in service.connected(copy["id"])}
    assert family == {source["id"], rerun["id"], copy["id"]}


def test_delete_removes_rows_and_run_folders(service, dataset):
    rows = [service.create({"dataset": {"train_dataset_id": dataset["id"]}}) for _ in range(3)]
    assert service.delete([rows[0]["id"], rows[1]["id"]]) == 2
    assert [r["id"] for r in service.store.experiments.list()] == [rows[2]["id"]]
    assert not service.run_dir(rows[0]["id"]).exists()
    assert service.supervisor.queued_ids() == [rows[2]["id"]]


def test_logs_archive_holds_config_and_logs(service, dataset):
    import zipfile

    row = service.create({"dataset": {"train_dataset_id": dataset["id"]}})
    (service.run_dir(row["id"]) / "train.log").write_text("epoch 1\n")
    with zipfile.ZipFile(service.archive(row["id"], "logs")) as archive:
        assert {f"{row['id']}/config.yaml", f"{row['id']}/train.log"} <= set(archive.namelist())


def test_form_and_yaml_stay_in_sync_both_ways():
    from studio.ui import config_form as form

    data = form.parse_yaml("training:\n  lora_rank: 8\nenvironment:\n  seed: 3\n")
    values = form.form_values(data)
    paths = [f.path for f in form.dialog_fields()]
    assert values[paths.index("training.lora_rank")] == 8
    values[paths.index("training.epochs")] = 3
    values[paths.index("training.lora_rank")] = 4  # back to the default: the key disappears
    synced = form.apply_form(data, values)
    assert synced == {"environment": {"seed": 3}, "training": {"epochs": 3}}
    assert form.parse_yaml(form.dump_overrides(synced)) == synced


def test_form_visibility_follows_schema_metadata():
    from studio.ui import config_form as form

    lora = form.field_by_path("training.lora_rank")
    judge = form.field_by_path("training.llm_judge_model")
    image = form.field_by_path("dataset.image_column")
    assert form.visible(lora, {}) and not form.visible(lora, {"architecture": {"training_mode": "full"}})
    assert not form.visible(judge, {}) and form.visible(judge, {"prediction": {"metrics": ["LLM-as-a-Judge"]}})
    assert not form.visible(image, {}) and form.visible(image, {"problem_type": "image_classification"})
    assert form.metric_choices({"problem_type": "object_detection"}) == ["mAP", "mAP@50", "mAP@75", "mAR"]
    assert form.drop_foreign_choices({"problem_type": "image_classification",
                                      "prediction": {"metrics": ["BLEU", "AUC"]}}) == \
        {"problem_type": "image_classification", "prediction": {"metrics": ["AUC"]}}


def test_invalid_yaml_reports_the_line():
    from studio.ui import config_form as form

    with pytest.raises(ConfigError) as caught:
        form.parse_yaml("training: [unclosed\n")
    assert "YAML: cannot parse at line" in caught.value.errors[0]


def test_runtime_reads_numeric_and_iso_start_times(service):
    import time
    from datetime import datetime, timezone

    now = time.time()
    iso = datetime.fromtimestamp(now - 60, timezone.utc).isoformat()
    for started in (now - 60, iso):
        assert 59 <= service.runtime_s({"status": "Training", "started": started}) < 70
    assert service.runtime_s({"status": "Completed", "started": iso, "runtime_s": 12.5}) == 12.5


def test_chart_puts_losses_left_and_perplexity_right():
    from studio.ui.metrics_chart import build_figure, default_choice, metric_names

    records = [{"step": s, "split": split, "name": name, "value": v} for s, split, name, v in [
        (1, "train", "loss", 3.0), (2, "train", "loss", 2.5), (2, "validation", "loss", 2.7),
        (2, "validation", "Perplexity", 14.9), (2, "validation", "BLEU", 0.1), (2, "train", "lr", 1e-4)]]
    names = metric_names(records)
    assert names == ["Perplexity", "BLEU"] and default_choice(names) == ["Perplexity"]
    figure = build_figure(records, ["Perplexity"])
    axes = {trace.name: trace.yaxis for trace in figure.data}
    assert axes == {"Training loss": "y", "Validation loss": "y", "Validation Perplexity": "y2"}


def test_list_page_of_5000_rows_is_fast_and_paginated(service):
    import time

    from studio.services.experiment_list import ExperimentList
    from studio.ui.experiment_table import PAGE_SIZE, table_page

    statuses = ["Queued", "Training", "Completed", "Failed"]
    rows = [{"id": f"{i:012x}", "name": f"run-{i}", "dataset_name": "demo", "status": statuses[i % 4],
             "created": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}+00:00",
             "problem_type": "text_causal_language_modeling", "backbone": "tiny"} for i in range(5000)]
    store = _store_with_rows(service.home, rows)
    project_id = store.projects.default_id()
    lister = ExperimentList(store, ExperimentService(store, service.supervisor, service.home))
    started = time.perf_counter()
    matched = lister.rows(project_id, query="run-49", sort="Status")
    page = table_page(matched, service, columns=["Name", "Status"], page=1)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5
    assert list(page.frame.columns) == ["Name", "Status"]
    assert page.total == 111 and len(page.ids) == PAGE_SIZE and page.pages == 3
    assert "badge-Queued" in page.frame["Status"].iloc[0]
    last = table_page(lister.rows(project_id), service, page=999)
    assert last.page == 100 and len(last.ids) == PAGE_SIZE


@pytest.mark.parametrize("where", ["absolute", "dotdot", "symlink", "validation"])
def test_the_app_refuses_data_files_outside_studio_home_with_the_field_named(service, studio_home, tmp_path, where):
    outside = tmp_path / "private.csv"
    outside.write_text("input,output\nsecret,row\n")
    dataset = {"train_dataframe": str(outside)}
    field = "dataset.train_dataframe"
    if where == "dotdot":
        dataset = {"train_dataframe": "../private.csv"}
    elif where == "symlink":
        (studio_home / "link.csv").symlink_to(outside)
        dataset = {"train_dataframe": str(studio_home / "link.csv")}
    elif where == "validation":
        (studio_home / "train.csv").write_text("input,output\na,b\n")
        dataset = {"train_dataframe": "train.csv", "validation_strategy": "custom",
                   "validation_dataframe": str(outside)}
        field = "dataset.validation_dataframe"
    with pytest.raises(ConfigError) as info:
        service.create({"dataset": dataset})
    assert [e.split(":")[0] for e in info.value.errors] == [field]
    assert service.store.experiments.list() == []


def test_data_files_inside_studio_home_or_an_admin_data_root_are_accepted(service, studio_home, tmp_path,
                                                                         monkeypatch):
    (studio_home / "inside.csv").write_text("input,output\na,b\n")
    assert service.validate({"dataset": {"train_dataframe": str(studio_home / "inside.csv")}})
    shared = tmp_path / "shared-data"
    shared.mkdir()
    monkeypatch.setenv("STUDIO_DATA_ROOT", str(shared))
    assert service.validate({"dataset": {"train_dataframe": str(shared / "train.csv")}})
    # The CLI's loader is not the app: it keeps reading any path its user gives.
    from studio.config import load_yaml
    assert load_yaml(f"dataset: {{train_dataframe: {tmp_path / 'private.csv'}}}\n")


def test_a_resumed_run_keeps_its_progress_while_it_starts_again(service, dataset):
    row = service.create({"dataset": {"train_dataset_id": dataset["id"]}})
    service.supervisor.stop(row["id"])
    last = service.run_dir(row["id"]) / "checkpoint" / "last"
    last.mkdir(parents=True)
    (last / "state.json").write_text('{"step": 9}')
    service.store.experiments.update(row["id"], status="Stopped", stage="stopped", progress=0.45)

    service.resume(row["id"])
    queued = service.store.experiments.get(row["id"])
    assert queued["status"] == "Queued" and queued["progress"] == 0.0  # the runner's reset
    assert service.live_status(queued)["progress"] == 0.45  # what the page shows
    # Starting: the engine's status.json says 0 while it reloads the checkpoint.
    service.store.experiments.update(row["id"], status="Starting")
    (service.run_dir(row["id"]) / "status.json").write_text(
        '{"status": "Starting", "stage": "loading model", "progress": 0.0}')
    assert service.live_status(service.store.experiments.get(row["id"]))["progress"] == 0.45
    # Training again: the engine's own figure counts.
    service.store.experiments.update(row["id"], status="Training")
    (service.run_dir(row["id"]) / "status.json").write_text(
        '{"status": "Training", "stage": "epoch 1", "progress": 0.41}')
    assert service.live_status(service.store.experiments.get(row["id"]))["progress"] == 0.41


def test_the_status_bar_does_not_repeat_a_stage_that_is_the_status(service, dataset):
    from types import SimpleNamespace

    from studio.ui.experiment_detail import _status_html

    row = service.create({"dataset": {"train_dataset_id": dataset["id"]}})
    service.supervisor.stop(row["id"])
    done = service.store.experiments.update(row["id"], status="Completed", stage="completed", progress=1.0)
    html = _status_html(SimpleNamespace(experiments=service, experiment_list=ExperimentList(service.store, service)),
                        done)
    assert html.lower().count("completed") == 2  # the badge's class and its text, no stage
    assert "<span class='stage'></span>" in html


def test_the_status_bar_of_a_running_run_shows_its_best_value_so_far(service, dataset):
    import json
    from types import SimpleNamespace

    from studio.ui.experiment_detail import _status_html

    row = service.create({"dataset": {"train_dataset_id": dataset["id"]},
                          "prediction": {"metrics": ["Perplexity"]}})
    running = service.store.experiments.update(row["id"], status="Training")
    ctx = SimpleNamespace(experiments=service, experiment_list=ExperimentList(service.store, service))
    assert "so far" not in _status_html(ctx, running)  # no evaluation yet
    run_dir = service.run_dir(row["id"])
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.jsonl").write_text("".join(
        json.dumps({"split": "validation", "name": "Perplexity", "value": v, "step": i}) + "\n"
        for i, v in enumerate([30.0, 12.5, 20.0], 1)))
    assert "best Perplexity 12.5 so far" in _status_html(ctx, running)


def _store_with_rows(home, rows):
    """The store reopened on a db.json holding ``rows`` (written in one go, as 5,000 adds would time the seeding)."""
    import json

    from studio.store.database import forget_database

    project_id = Store(home).projects.default_id()
    data = json.loads((home / "db.json").read_text())
    data["experiments"] = {row["id"]: {**row, "project_id": project_id} for row in rows}
    (home / "db.json").write_text(json.dumps(data))
    forget_database(home / "db.json")
    return Store(home)
