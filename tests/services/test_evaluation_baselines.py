"""The Evaluate panel's baselines never raise, whatever the run folder's config.yaml holds."""
from __future__ import annotations

from studio.paths import run_dir
from studio.services.evaluations import BASE_MODEL, EvaluationService
from studio.store import Store


def test_a_config_yaml_that_is_not_a_mapping_falls_back_to_the_stored_config(tmp_path):
    store = Store(tmp_path)
    row = store.experiments.add({"name": "run", "status": "Completed", "config": "llm_backbone: tiny-llama\n"})
    folder = run_dir(row["id"], tmp_path)
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("just a line of text\n")  # a hand-edited or damaged file
    choices = EvaluationService(store, tmp_path).baselines(row["id"])
    assert choices[0] == ("Base model (tiny-llama)", BASE_MODEL)
