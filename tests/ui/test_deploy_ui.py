"""What the Deployments, Chat and ship-action views decide, without a browser (real store and services)."""
from __future__ import annotations

import json
import shutil

import gradio as gr
import pytest
import yaml

from studio.config.problem_types import NOT_DEPLOYABLE_REASON
from studio.services.context import AppContext
from studio.services.deploy import DeployError
from studio.store.database import forget_database
from studio.ui import chat, deployments
from studio.ui.ship_actions import action_state, build_ship_actions

CAUSAL_LM, DETECTION = "text_causal_language_modeling", "object_detection"


@pytest.fixture()
def ctx(studio_home):
    context = AppContext.open(studio_home, start_runner=False)
    yield context
    for row in context.deploy.list(include_ephemeral=True):
        context.deploy.stop(row["id"])
    forget_database(studio_home / "db.json")


def finished_experiment(ctx, name, problem_type=CAUSAL_LM, status="Completed", model_dir=None, project_id=None):
    row = ctx.store.experiments.add({"name": name, "problem_type": problem_type, "status": status,
                                     "project_id": project_id})
    run = ctx.experiments.run_dir(row["id"])
    (run / "checkpoint").mkdir(parents=True)
    if model_dir is not None:
        shutil.copytree(model_dir, run / "checkpoint" / "model")
    (run / "status.json").write_text(json.dumps({"status": status}))
    (run / "config.yaml").write_text(yaml.safe_dump({"problem_type": problem_type, "experiment_name": name}))
    return row


def test_actions_follow_the_status_and_problem_type():
    completed = action_state({"status": "Completed", "problem_type": CAUSAL_LM})
    assert completed == {"deploy": True, "deployable": True, "reason": None, "push": True, "kgm": True,
                         "automl": True}
    detection = action_state({"status": "Completed", "problem_type": DETECTION})
    assert detection["deploy"] and not detection["deployable"]
    assert detection["reason"] == NOT_DEPLOYABLE_REASON[DETECTION]
    failed = action_state({"status": "Failed", "problem_type": CAUSAL_LM})
    assert [k for k, v in failed.items() if v] == ["kgm"]
    assert not any(action_state({"status": "Training", "problem_type": CAUSAL_LM}).values())
    assert not any(action_state(None).values())


def test_new_deployment_lists_completed_runs_and_says_why_detection_cannot_deploy(ctx):
    project = ctx.current_project()["id"]
    good = finished_experiment(ctx, "chatty", project_id=project)
    boxes = finished_experiment(ctx, "boxes", DETECTION, project_id=project)
    finished_experiment(ctx, "still-running", status="Training", project_id=project)
    other = ctx.store.projects.create("other")
    finished_experiment(ctx, "elsewhere", project_id=other["id"])

    choices, reasons = deployments.deployable_experiments(ctx, project)
    assert {value for _, value in choices} == {good["id"], boxes["id"]}
    assert any("boxes" in label and "not deployable" in label for label, _ in choices)
    assert reasons == {boxes["id"]: NOT_DEPLOYABLE_REASON[DETECTION]}
    with pytest.raises(DeployError, match="Object detection models cannot be deployed"):
        deployments.create_deployment(ctx, boxes["id"])
    assert ctx.store.deployments.list() == []


def test_a_deployment_joins_its_experiments_project_and_keeps_the_key_secret(ctx, tiny_llama_dir):
    other = ctx.store.projects.create("team")
    experiment = finished_experiment(ctx, "tiny", model_dir=tiny_llama_dir, project_id=other["id"])
    row = deployments.create_deployment(ctx, experiment["id"], "  My Tiny  ", "sk-ui-secret-0123456789", "auto")
    assert row["project_id"] == other["id"] and row["name"] == "My Tiny" and row["status"] == "Starting"
    assert [r["id"] for r in deployments.project_deployments(ctx, other["id"])] == [row["id"]]
    assert deployments.project_deployments(ctx, ctx.store.projects.default()["id"]) == []
    frame = deployments.table_frame(ctx, [row])
    assert frame.iloc[0].to_dict() | {"Created": ""} == {
        "Name": "My Tiny", "Experiment": "tiny", "Model": "my-tiny", "Status": "Starting",
        "Endpoint": row["base_url"], "Created": ""}
    page = deployments.detail_html(ctx, row)
    assert "sk-ui-secret-0123456789" not in page and "sk-…6789" in page

    # Chat refuses a deployment that is not Ready, saying where to start it.
    ctx.deploy.stop(row["id"])
    with pytest.raises(DeployError, match="Stopped, not Ready.*Deployments page"):
        chat.connect(ctx, chat.source_value(chat.DEPLOYMENT, row["id"]))
    assert deployments.table_frame(ctx, [ctx.store.deployments.get(row["id"])]).iloc[0]["Endpoint"] == ""


def test_chat_sources_and_messages(ctx):
    project = ctx.current_project()["id"]
    good = finished_experiment(ctx, "chatty", project_id=project)
    finished_experiment(ctx, "boxes", DETECTION, project_id=project)
    assert chat.chat_sources(ctx, project) == [
        ("Experiment · chatty (starts a chat server)", f"experiment:{good['id']}")]
    history = [{"role": "user", "metadata": None, "content": [{"type": "text", "text": "hi"}]},
               {"role": "assistant", "content": "hello"}]
    assert chat.plain_messages(history, "  Be brief.  ") == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"}]
    assert chat.plain_messages(history, "")[0] == {"role": "user", "content": "hi"}
    with pytest.raises(DeployError, match="choose a deployment or an experiment"):
        chat.connect(ctx, "")


def test_ship_actions_build_and_refresh_by_status(ctx):
    running = finished_experiment(ctx, "running", status="Training")
    done = finished_experiment(ctx, "done")
    with gr.Blocks():
        experiment_id = gr.State(None)
        with gr.Row():
            ship = build_ship_actions(ctx, experiment_id)
    assert len(ship["timer_outputs"]) == 5
    visible = lambda updates: [u.get("visible") for u in updates]  # noqa: E731
    assert visible(ship["refresh_by_id"](running["id"])) == [False] * 5
    assert visible(ship["refresh"](ctx.store.experiments.get(done["id"]))) == [True, False, True, True, True]
    assert ship["refresh_by_id"](done["id"])[0]["interactive"] is True


def test_chat_sends_images_to_image_models_and_says_what_each_kind_needs(ctx, tmp_path):
    from PIL import Image

    project = ctx.current_project()["id"]
    vit = finished_experiment(ctx, "pets", "image_classification", project_id=project)
    llm = finished_experiment(ctx, "chatty", project_id=project)
    config = yaml.safe_load((ctx.experiments.run_dir(llm["id"]) / "config.yaml").read_text())
    config["prediction"] = {"max_length_inference": 40, "temperature": 0.3, "repetition_penalty": 1.1}
    (ctx.experiments.run_dir(llm["id"]) / "config.yaml").write_text(yaml.safe_dump(config))

    image = tmp_path / "cat.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(image)
    # As the Chatbot hands history back (normalized parts) and as the handler appends it (file dicts).
    history = [{"role": "user", "content": [{"type": "file", "file": {"path": str(image)}},
                                            {"type": "text", "text": "what is it?"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "a cat"}]},
               {"role": "user", "content": [{"path": str(image)}]}]
    first, answer, last = chat.plain_messages(history, None)
    assert first["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert first["content"][1] == {"type": "text", "text": "what is it?"}
    assert answer == {"role": "assistant", "content": "a cat"}
    assert [p["type"] for p in last["content"]] == ["image_url"]

    image_model = chat.source_profile(ctx, chat.source_value(chat.EXPERIMENT, vit["id"]))
    assert image_model["kind"] == "image" and image_model["classifier"]
    text_model = chat.source_profile(ctx, chat.source_value(chat.EXPERIMENT, llm["id"]))
    assert text_model["kind"] == "text" and not text_model["classifier"]
    assert text_model["defaults"] | {} == {"max_tokens": 40, "min_tokens": 2, "temperature": 0.3, "top_p": 1.0,
                                           "top_k": 0, "repetition_penalty": 1.1, "num_beams": 1}
    assert "attach an image" in chat._input_problem("image", "hello", [])
    assert "text only" in chat._input_problem("text", "hi", [str(image)])
    assert chat._input_problem("image", "", [str(image)]) is None
    assert chat._label_reply("cat", {"dog": 0.25, "cat": 0.75}) == "**cat**\n\n- cat: 75.0%\n- dog: 25.0%"
