"""What the Chat page may talk to, and how to reach it: deployments, runs, and a run's base model.

A source is a string ``kind:id``: ``deployment:<id>`` (a Ready deployment), ``experiment:<id>``
(a Completed run, served by a private chat server) or ``base:<id>`` (the base model a Causal LM
or preference-tuned run was trained from, ``llm_backbone``, also in a private chat server; only
side by side offers it). No source is ever loaded into the app process.
"""
from __future__ import annotations

from studio.config.problem_types import CHAT_TYPES, DEPLOYABLE_TYPES

from .chat import TEXT, input_kind, is_classifier
from .deploy import MAX_CHAT_SERVERS, READY, DeployError

DEPLOYMENT, EXPERIMENT, BASE = "deployment", "experiment", "base"


def source_value(kind: str, record_id: str) -> str:
    return f"{kind}:{record_id}"


def chat_sources(ctx, project_id: str) -> list[tuple[str, str]]:
    """Ready deployments of the project, then its Completed experiments that can be served."""
    return _sources(ctx, project_id, DEPLOYABLE_TYPES)


def side_by_side_sources(ctx, project_id: str) -> list[tuple[str, str]]:
    """The text-generation sources (Causal LM and preference-tuned), then the base model of each such run."""
    choices = _sources(ctx, project_id, CHAT_TYPES)
    choices += [(f"Base model of {row.get('name') or row['id']} ({_backbone(row)})", source_value(BASE, row["id"]))
                for row in _completed(ctx, project_id, CHAT_TYPES)]
    return choices


def _sources(ctx, project_id: str, problem_types) -> list[tuple[str, str]]:
    choices = [(f"Deployment · {row.get('name')}", source_value(DEPLOYMENT, row["id"]))
               for row in ctx.deploy.list() if row.get("status") == READY and row.get("project_id") == project_id
               and row.get("problem_type") in problem_types]
    choices += [(f"Experiment · {row.get('name') or row['id']} (starts a chat server)",
                 source_value(EXPERIMENT, row["id"])) for row in _completed(ctx, project_id, problem_types)]
    return choices


def _completed(ctx, project_id: str, problem_types) -> list[dict]:
    return [row for row in ctx.store.experiments.list_read_only(project_id)
            if row.get("status") == "Completed" and row.get("problem_type") in problem_types]


def experiment_of(ctx, source: str | None) -> dict | None:
    """The experiment row behind a source (a deployment's run, a run, the run a base model belongs to)."""
    kind, _, record_id = (source or "").partition(":")
    if kind == DEPLOYMENT:
        deployment = ctx.store.deployments.get(record_id) or {}
        return ctx.store.experiments.get(deployment.get("experiment_id") or "") or \
            {"id": deployment.get("experiment_id"), "problem_type": deployment.get("problem_type")}
    if kind in (EXPERIMENT, BASE):
        return ctx.store.experiments.get(record_id)
    return None


def source_profile(ctx, source: str | None) -> dict:
    """What the chosen source reads ("kind"), whether it classifies, and its run's generation defaults."""
    row = experiment_of(ctx, source)
    if not row or not row.get("id"):
        return {"kind": TEXT, "classifier": False, "defaults": {}}
    return {"kind": input_kind(row.get("problem_type")), "classifier": is_classifier(row.get("problem_type")),
            "defaults": ctx.deploy.generation_defaults(row["id"])}


def base_of(ctx, source: str | None) -> str | None:
    """The base-model source that goes with ``source`` (side by side's usual pair), when it has one."""
    row = experiment_of(ctx, source)
    if source and not source.startswith(BASE) and row and row.get("problem_type") in CHAT_TYPES and row.get("status"):
        return source_value(BASE, row["id"])
    return None


def connect(ctx, source: str) -> dict:
    """base_url / model / api_key for a chosen source; starts a chat server for an experiment.

    Raises DeployError with a message for the page (not Ready, not Completed, server died).
    """
    return connect_all(ctx, [source])[0]


def connect_all(ctx, sources: list[str]) -> list[dict]:
    """One connection per source, in order. The chat servers they need start together (and load in
    parallel); every other chat server is stopped, so at most MAX_CHAT_SERVERS models are held."""
    if not 1 <= len(sources) <= MAX_CHAT_SERVERS:
        raise DeployError(f"chat with 1 to {MAX_CHAT_SERVERS} models at a time")
    connections: list[dict | None] = []
    servers: list[tuple[str, bool]] = []
    for source in sources:
        kind, _, record_id = (source or "").partition(":")
        if kind == DEPLOYMENT:
            row = ctx.deploy.get(record_id)
            if row.get("status") != READY:
                raise DeployError(f"deployment {row.get('name')} is {row.get('status')}, not Ready"
                                  + (f": {row['error']}" if row.get("error") else "")
                                  + ". Start it on the Deployments page.")
            connections.append(ctx.deploy.connection(record_id))
        elif kind in (EXPERIMENT, BASE) and record_id:
            connections.append(None)
            servers.append((record_id, kind == BASE))
        else:
            raise DeployError("choose a deployment or an experiment to chat with")
    urls = iter(ctx.deploy.ensure_ephemeral_servers(servers) if servers else [])
    return [c if c is not None else {"base_url": next(urls), "model": None, "api_key": None} for c in connections]


def _backbone(row: dict) -> str:
    backbone = str(row.get("backbone") or "llm_backbone")
    return backbone.rsplit("/", 1)[-1] if backbone.startswith("/") else backbone  # a local folder: its name
