"""Each user's push uses that user's own Hugging Face token, never another's (local stand-in Hub)."""
from __future__ import annotations

import pytest

from studio.services.access_policy import Actor
from studio.services.app_settings import save_credentials
from studio.services.push import PushError, push_experiment
from tests.services.test_push import TOKEN, hub, run_with_model  # noqa: F401  (the stand-in Hub's fixtures)

ANN, BEN, ROOT = Actor("ann", "member"), Actor("ben", "admin"), Actor("root", "admin")
BENS_TOKEN = "hf_bensOwnTokenNotTheHubs0042"


def test_a_push_uses_the_pushers_token_and_never_another_users(hub, run_with_model, monkeypatch):  # noqa: F811
    store, experiment_id, _ = run_with_model
    store.experiments.update(experiment_id, owner="ann")
    save_credentials(store, ANN, hf_token=TOKEN)  # the one token the stand-in Hub accepts
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # the app's own: signed in, nobody's to push with

    with pytest.raises(PushError, match="no Hugging Face token: set yours in Settings$"):
        push_experiment(store, experiment_id, "me/by-root", actor=ROOT)  # an admin without a token of his own
    assert hub.requests == []  # nothing was sent with Ann's token (or the app's)

    save_credentials(store, BEN, hf_token=BENS_TOKEN)
    with pytest.raises(PushError, match="token was rejected") as refused:
        push_experiment(store, experiment_id, "me/by-ben", actor=BEN)  # Ben's token went, not Ann's
    assert BENS_TOKEN not in str(refused.value) and "me/by-ben" not in hub.repos

    url = push_experiment(store, experiment_id, "me/by-ann", actor=ANN)
    assert url.endswith("me/by-ann") and set(hub.repos) == {"me/by-ann"}
