"""A completed DPO run goes on like a Causal LM one: deployed it answers a chat completion, Ask KGM
advises on it, an AutoML study queues preference-tuning trials from it.

One tiny DPO run is trained through the real engine CLI on the imported demo preference pairs
(the runner thread is not started, so what the services queue afterwards does not train).
"""
from __future__ import annotations

import pytest

from studio.config.problem_types import DPO, REWARD_MARGIN
from studio.datasets import import_dataset
from studio.runner.run_folder_reader import read_final_metrics, read_status
from studio.runner.supervisor import Supervisor
from studio.services import kgm
from studio.services.deploy import READY, DeploymentService
from studio.services.experiments import ExperimentService
from studio.services.studies import StudyService
from studio.services.study_driver import StudyDriver
from studio.store import Store
from tests.engine_cli import ROOT, run_engine

PAIRS_CSV = ROOT / "assets" / "data" / "demo_preferences.csv"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dpo_run(tmp_path_factory, tiny_llama_dir):
    """(ExperimentService, row of the Completed DPO run)."""
    home = tmp_path_factory.mktemp("dpo-home")
    store = Store(home)
    dataset = import_dataset(store, str(PAIRS_CSV), PAIRS_CSV.name, "pairs")
    service = ExperimentService(store, Supervisor(store, home, gpus=[]), home)
    row = service.create({"experiment_name": "pairs-dpo", "problem_type": DPO, "llm_backbone": str(tiny_llama_dir),
                          "dataset": {"train_dataset_id": dataset["id"], "input_column": "prompt",
                                      "output_column": "chosen", "rejected_output_column": "rejected",
                                      "data_sample": 0.15},
                          "tokenizer": {"max_length": 48},
                          "training": {"batch_size": 8, "learning_rate": 0.003, "epochs": 1, "evaluation_epochs": 1,
                                       "lora_rank": 8},
                          "prediction": {"max_length_inference": 4}, "environment": {"seed": 7}},
                         store.projects.default()["id"])
    run_dir = service.run_dir(row["id"])
    result = run_engine(str(run_dir), timeout=600, STUDIO_HOME=str(home))
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_status(run_dir)["status"] == "Completed"
    final = read_final_metrics(run_dir)
    service.supervisor.stop(row["id"])  # off the queue, as the runner leaves a finished run
    row = store.experiments.update(row["id"], status="Completed", progress=1.0, final_metrics=final,
                                   metric_name=REWARD_MARGIN, best_metric=final[REWARD_MARGIN])
    return service, row


def test_a_deployed_dpo_run_answers_a_chat_completion(dpo_run):
    from openai import OpenAI

    service, row = dpo_run
    deployments = DeploymentService(service.store, service.home)
    deployment = deployments.create(row["id"], name="dpo-tiny")
    try:
        deployment = deployments.wait_ready(deployment["id"], timeout=240)
        assert deployment["status"] == READY and deployment["problem_type"] == DPO
        client = OpenAI(base_url=deployment["base_url"], api_key="not-needed", timeout=120, max_retries=0)
        reply = client.chat.completions.create(model=deployment["served_name"], max_tokens=4, temperature=0,
                                               messages=[{"role": "user", "content": "Reverse the word: fish"}])
        assert isinstance(reply.choices[0].message.content, str)
        assert reply.usage.completion_tokens >= 1
    finally:
        deployments.delete(deployment["id"])


def test_ask_kgm_advises_on_a_dpo_run_and_proceed_queues_a_dpo_experiment(dpo_run):
    service, row = dpo_run
    suggestion = kgm.ask(service, row["id"])
    assert suggestion.title and suggestion.explanation
    created = kgm.proceed(service, row["id"], kgm.as_state(suggestion))
    assert (created["connected_to"], created["connection"], created["status"]) == (row["id"], "kgm", "Queued")
    config = service.config_of(created)
    assert config.problem_type == DPO and config.dataset.rejected_output_column == "rejected"
    service.supervisor.stop(created["id"])


def test_automl_queues_preference_tuning_trials_from_a_dpo_run(dpo_run):
    service, row = dpo_run
    studies = StudyService(service.store, service, service.home)
    study = studies.create_from_experiment(row["id"], {"max_trials": 2, "concurrent_trials": 1})
    assert (study["objective"], study["direction"]) == (REWARD_MARGIN, "maximize")
    StudyDriver(studies, service.supervisor).tick()
    [trial] = [service.store.experiments.get(t.experiment_id) for t in studies.trials(study["id"])]
    assert trial["status"] == "Queued" and service.config_of(trial).problem_type == DPO
    for queued in [trial]:
        service.supervisor.stop(queued["id"])
