"""Side-by-side chat: a run and its base model in two real chat servers, one prompt, two streamed answers."""
from __future__ import annotations

from types import SimpleNamespace

import psutil
import pytest

from studio import paths
from studio.services.chat import chat_stream, stream_side_by_side
from studio.services.chat_sources import base_of, connect, connect_all, side_by_side_sources, source_value
from studio.services.deploy import DeployError, DeploymentService
from studio.store import Store
from tests.chat_runs import run_with_base_model

PROMPT = [{"role": "user", "content": "Reverse the word: fish"}]


@pytest.fixture()
def ctx(studio_home):
    store = Store(studio_home)
    deploy = DeploymentService(store, studio_home)
    project = store.projects.default()
    yield SimpleNamespace(store=store, deploy=deploy, current_project=lambda: project)
    deploy.stop_ephemeral_servers()


def alive(pid) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_run_and_its_base_model_answer_one_prompt_side_by_side(ctx, studio_home, tiny_llama_dir):
    row = run_with_base_model(ctx.store, studio_home, "tuned", tiny_llama_dir)
    run, base = source_value("experiment", row["id"]), source_value("base", row["id"])
    assert [value for _, value in side_by_side_sources(ctx, row["project_id"])] == [run, base]
    assert base_of(ctx, run) == base and base_of(ctx, base) is None

    first, second = connect_all(ctx, [run, base])
    servers = {r["model_path"]: r for r in ctx.store.deployments.find(ephemeral=True)}
    assert set(servers) == {str(paths.run_dir(row["id"], studio_home) / "checkpoint" / "model"), str(tiny_llama_dir)}
    assert first["base_url"] != second["base_url"]
    assert all(alive(r["pid"]) for r in servers.values())

    settings = {"messages": PROMPT, "max_tokens": 8, "temperature": 0.0}
    seen = []
    for answers in stream_side_by_side([{"base_url": c["base_url"], **settings} for c in (first, second)]):
        seen.append([a.text for a in answers])
    assert all(a.done and a.error is None for a in answers)
    assert len(seen) >= 3  # streamed piece by piece, not one block at the end
    # Each side is its own model: the same greedy answer as asking that server alone.
    assert [a.text for a in answers] == ["".join(chat_stream(c["base_url"], **settings)) for c in (first, second)]

    # Back to one model: the run's server is reused and the base model's server is stopped.
    base_server = servers[str(tiny_llama_dir)]
    assert connect(ctx, run)["base_url"] == first["base_url"]
    assert not alive(base_server["pid"])
    ctx.deploy.stop_ephemeral_servers()
    assert ctx.store.deployments.find(ephemeral=True) == []
    assert not any(alive(r["pid"]) for r in servers.values())


def test_one_side_failing_does_not_stop_the_other(ctx, studio_home, tiny_llama_dir):
    row = run_with_base_model(ctx.store, studio_home, "tuned", tiny_llama_dir)
    [live] = connect_all(ctx, [source_value("experiment", row["id"])])
    dead = f"http://127.0.0.1:{_closed_port()}/v1"
    *_, answers = stream_side_by_side([{"base_url": live["base_url"], "messages": PROMPT, "max_tokens": 4,
                                        "temperature": 0.0},
                                       {"base_url": dead, "model": "x", "messages": PROMPT, "max_tokens": 4}])
    assert answers[0].done and answers[0].error is None
    assert answers[1].done and "did not answer" in answers[1].error


def test_side_by_side_refuses_what_it_cannot_serve(ctx, studio_home, tiny_llama_dir):
    row = run_with_base_model(ctx.store, studio_home, "tuned", tiny_llama_dir)
    classifier = run_with_base_model(ctx.store, studio_home, "labels", tiny_llama_dir, "text_causal_classification_modeling")
    with pytest.raises(DeployError, match="only Causal LM and preference-tuned runs have a base model"):
        connect_all(ctx, [source_value("base", classifier["id"])])
    with pytest.raises(DeployError, match="1 to 2 models"):
        connect_all(ctx, [source_value("experiment", row["id"]), source_value("base", row["id"]),
                          source_value("experiment", classifier["id"])])
    with pytest.raises(DeployError, match="choose a deployment or an experiment"):
        connect_all(ctx, [source_value("experiment", row["id"]), ""])
    assert source_value("base", classifier["id"]) not in [v for _, v in side_by_side_sources(ctx, row["project_id"])]
    assert ctx.store.deployments.find(ephemeral=True) == []  # refused before any server started


def _closed_port() -> int:
    from studio.services.serve_process import free_port

    return free_port()
