"""Ask KGM on stored experiments: the project's history read from the store, runs already made
(of any status) never proposed again, and the explanation kept on the launched experiment.

A real store, ExperimentService and runner queue (not started); finished runs are written the
way the runner leaves them (see ``finish``).
"""
from __future__ import annotations

from studio.services import kgm
from tests.services.test_kgm_and_automl_runs import dataset, finish, service  # noqa: F401 (fixtures)

PLATEAU = [("train", v) for v in (2.0, 1.5, 1.2, 1.1, 1.1, 1.1, 1.1, 1.1)]


def completed(service, dataset, name, loss, **training):  # noqa: F811
    row = service.create({"experiment_name": name, "dataset": {"train_dataset_id": dataset["id"]},
                          "training": {"learning_rate": 1e-4, "epochs": 2, **training}})
    return finish(service, row, losses=PLATEAU, final={"loss": loss, "Perplexity": 3.0})


def test_kgm_reads_the_projects_runs_and_stores_its_explanation_on_the_new_experiment(service, dataset):  # noqa: F811
    source = completed(service, dataset, "base", 1.20)
    completed(service, dataset, "faster", 1.08, learning_rate=3e-4, epochs=1)
    suggestion = kgm.ask(service, source["id"])
    assert suggestion.overrides == {"training": {"learning_rate": 0.0003}}
    assert suggestion.evidence[0] == ("2 runs on this dataset: learning rate 0.0003 beat 0.0001 by 0.12 "
                                      "validation loss (1.08 vs 1.2)")
    shown = kgm.explanation_markdown(suggestion)
    assert "**Evidence**" in shown and "- 2 runs on this dataset" in shown

    created = kgm.proceed(service, source["id"], kgm.as_state(suggestion))
    stored = service.store.experiments.require(created["id"])
    assert stored["explanation"].startswith(f"**{suggestion.title}**")
    assert "learning rate 0.0003 beat 0.0001" in stored["explanation"]
    assert "explanation" not in service.store.experiments.require(source["id"])


def test_asking_again_never_proposes_an_experiment_that_exists_in_the_project(service, dataset):  # noqa: F811
    source = completed(service, dataset, "base", 1.20)
    launched = []
    for _ in range(4):
        suggestion = kgm.ask(service, source["id"])
        assert suggestion.launchable
        launched.append(kgm.proceed(service, source["id"], suggestion))  # queued, not yet run: still tried
    configs = [service.config_of(row).model_dump(mode="json") for row in launched]
    for config in configs:
        config.pop("experiment_name")
    assert len({repr(sorted(c.items())) for c in configs}) == 4
    base = service.config_of(source).model_dump(mode="json")
    base.pop("experiment_name")
    assert base not in configs
    assert any(line.startswith("already tried, not proposed again") for line in
               kgm.ask(service, source["id"]).evidence)


def test_runs_of_another_project_are_not_the_history(service, dataset):  # noqa: F811
    source = completed(service, dataset, "base", 1.20)
    elsewhere = service.store.projects.create("elsewhere")
    other = completed(service, dataset, "faster", 1.08, learning_rate=3e-4, epochs=1)
    service.store.experiments.update(other["id"], project_id=elsewhere["id"])
    suggestion = kgm.ask(service, source["id"])
    assert suggestion.rule == "plateau"
    assert "no other runs on this dataset in the project" in suggestion.evidence
