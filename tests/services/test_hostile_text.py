"""Hostile text through every edge that stores it: only clean errors, and the store stays intact.

Generated text mixes lone surrogates, NUL and other control characters, bidi overrides,
very long strings and ordinary letters. Each example goes through the service a user
reaches (experiments, dataset import, projects, settings, secrets); afterwards db.json
must be strict UTF-8 JSON equal to the in-memory copy, and the next write must work.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from studio.config import ConfigError
from studio.datasets import DatasetError, import_dataset
from studio.runner.supervisor import Supervisor
from studio.services.app_settings import save_settings
from studio.services.experiments import ExperimentService
from studio.store import Store, StoreError
from studio.store.names import MAX_NAME_LENGTH

HOSTILE_CHARS = st.characters(categories=["Cs", "Cc", "Cf", "Lu", "Ll", "Nd", "Zs", "Po", "So"])
hostile_text = st.one_of(
    st.text(HOSTILE_CHARS, max_size=40),
    st.text(HOSTILE_CHARS, min_size=MAX_NAME_LENGTH - 2, max_size=MAX_NAME_LENGTH + 3),
    st.sampled_from(["bad\ud800", "\udfff", "nul\x00name", "bell\x07", "\u202eevil", "ok name", "x" * 100_000]),
)
CLEAN_ERRORS = (StoreError, ConfigError, DatasetError)
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TALLY: dict[str, int] = {}


@pytest.fixture()
def ctx(studio_home):
    store = Store(studio_home)
    return store, ExperimentService(store, Supervisor(store, studio_home, gpus=[]), studio_home)


def attempt(kind: str, call) -> None:
    """Run one hostile call; only a typed error with a storable, one-field message may come out."""
    try:
        call()
        TALLY[f"{kind} accepted"] = TALLY.get(f"{kind} accepted", 0) + 1
    except CLEAN_ERRORS as exc:
        str(exc).encode("utf-8")  # the message itself can be shown and logged
        TALLY[f"{kind} refused"] = TALLY.get(f"{kind} refused", 0) + 1


def assert_intact(store: Store) -> None:
    disk = json.loads((store.home / "db.json").read_bytes().decode("utf-8"))  # strict: no surrogates
    memory = store.experiments._storage.read()
    assert disk == memory
    store.settings.set("still_writable", len(disk.get("experiments", {})))


@EXAMPLES
@given(name=hostile_text, backbone=hostile_text, dataframe=hostile_text)
def test_experiment_create_refuses_unstorable_text(ctx, name, backbone, dataframe):
    store, experiments = ctx
    attempt("experiment", lambda: experiments.create(
        {"llm_backbone": backbone or "m", "dataset": {"train_dataframe": dataframe or "a.csv"},
         "experiment_name": name}))
    attempt("experiment yaml", lambda: experiments.validate(
        "experiment_name: " + json.dumps(name) + "\nllm_backbone: " + json.dumps(backbone or "m")
        + "\ndataset: {train_dataframe: a.csv}\n"))
    assert_intact(store)
    for row in store.experiments.list():
        assert len(row["name"]) <= MAX_NAME_LENGTH and "\x00" not in row["name"]


@EXAMPLES
@given(name=hostile_text, filename=hostile_text)
def test_dataset_import_refuses_unstorable_names(ctx, name, filename):
    store, _ = ctx
    attempt("dataset", lambda: import_dataset(store, b"input,output\nhi,there\n", (filename or "x") + ".csv", name))
    assert_intact(store)
    for row in store.datasets.list():
        assert len(row["name"]) <= MAX_NAME_LENGTH


@EXAMPLES
@given(name=hostile_text, new_name=hostile_text)
def test_projects_refuse_unstorable_names(ctx, name, new_name):
    store, _ = ctx
    attempt("project", lambda: store.projects.create(name))
    attempt("project rename", lambda: store.projects.rename(store.projects.default_id(), new_name))
    assert_intact(store)


@EXAMPLES
@given(key=hostile_text, value=hostile_text, url=hostile_text, secret=hostile_text)
def test_settings_and_secrets_refuse_unstorable_text(ctx, key, value, url, secret):
    store, _ = ctx
    attempt("setting", lambda: store.settings.set(key, value))
    attempt("settings page", lambda: save_settings(store, price=1, max_concurrent=None,
                                                   judge_url="https://" + url, judge_key=secret))
    attempt("secret", lambda: store.secrets.set("hostile", secret))
    assert_intact(store)
    json.loads(Path(store.home / "secrets.json").read_bytes().decode("utf-8")) \
        if (store.home / "secrets.json").exists() else None


def test_zz_report_the_tally(capsys):
    with capsys.disabled():
        print("\nhostile text:", ", ".join(f"{k} {v}" for k, v in sorted(TALLY.items())))
