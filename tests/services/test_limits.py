"""The operator's limits: a demo's defaults, saving them from Settings, and each service refusing past them."""
from __future__ import annotations

import pytest

from studio.config.limits import ALLOW_DEPLOY, ALLOW_PUSH, DEMO_DEFAULTS, MAX_EPOCHS, MAX_UPLOAD_MB
from studio.config.runner_settings import MAX_CONCURRENT_RUNS, MAX_RUN_MINUTES
from studio.services.app_settings import save_settings
from studio.services.limits import action_refusal, apply_demo_defaults
from studio.store import Store, StoreError


@pytest.fixture()
def store(studio_home):
    return Store(studio_home)


def test_a_demo_gets_its_limits_once_and_keeps_what_the_operator_set(store):
    store.settings.set(MAX_RUN_MINUTES.key, 30.0)

    added = apply_demo_defaults(store)

    assert MAX_RUN_MINUTES.key not in added
    assert MAX_RUN_MINUTES.value(store.settings) == 30.0
    assert MAX_CONCURRENT_RUNS.value(store.settings) == 1
    assert MAX_UPLOAD_MB.value(store.settings) == DEMO_DEFAULTS[MAX_UPLOAD_MB.key]
    assert not ALLOW_PUSH.value(store.settings) and not ALLOW_DEPLOY.value(store.settings)
    store.settings.delete(MAX_EPOCHS.key)  # the operator cleared the cap: a restart must not bring it back
    assert apply_demo_defaults(store) == []
    assert MAX_EPOCHS.value(store.settings) is None


def test_without_demo_mode_nothing_is_limited(store):
    assert MAX_RUN_MINUTES.value(store.settings) == 0
    assert MAX_EPOCHS.value(store.settings) is None
    assert action_refusal(store, "push") is None and action_refusal(store, "deploy") is None


def test_the_settings_page_saves_limits_and_names_a_wrong_one(store):
    save_settings(store, price=0, max_concurrent=None, limits={
        MAX_RUN_MINUTES.key: 5, MAX_UPLOAD_MB.key: 2, MAX_EPOCHS.key: "", ALLOW_PUSH.key: False, ALLOW_DEPLOY.key: True})
    assert MAX_RUN_MINUTES.value(store.settings) == 5 and MAX_UPLOAD_MB.value(store.settings) == 2
    assert MAX_EPOCHS.value(store.settings) is None
    assert action_refusal(store, "push") == ALLOW_PUSH.off_reason and action_refusal(store, "deploy") is None

    with pytest.raises(StoreError, match=r"^Max run time \(minutes\): must be a number, at least 0"):
        save_settings(store, price=0, max_concurrent=None, limits={MAX_RUN_MINUTES.key: -1, MAX_UPLOAD_MB.key: 9})
    assert MAX_RUN_MINUTES.value(store.settings) == 5 and MAX_UPLOAD_MB.value(store.settings) == 2  # nothing changed
