"""Ask KGM learns from the project's other runs and the model registry, and never repeats a run.

Histories are synthetic PastRun lists (what load_history builds from the store); the registry is
a list of RegisteredModel entries with a stated loadability.
"""
import math

import pytest

from studio.config import from_dict
from studio.services.cost_evidence import cost_line
from studio.services.history_evidence import PastRun, ProjectHistory, config_signature
from studio.services.model_registry import RegisteredModel
from studio.services.recommend import recommend
from studio.services.registry_evidence import backbone_options, model_parameters, smallest_gpu_bytes

GIB = 2**30
DATA = {"dataset": {"train_dataset_id": "d1"}}


def config(**training):
    return from_dict({**DATA, "training": {"epochs": 2, "learning_rate": 1e-4, **training}})


def curve(values):
    return [{"step": i * 10, "epoch": i / 10, "split": "train", "name": "loss", "value": v}
            for i, v in enumerate(values)]


PLATEAU = curve([2.0, 1.5, 1.2, 1.1, 1.1, 1.1, 1.1, 1.1])
UNDERFIT = curve([3, 2.8, 2.6, 2.4, 2.2, 2.0, 1.8, 1.6])
OVERFIT = curve([3, 2.5, 2, 1.5, 1, 0.5, 0.2, 0.1]) + [
    {"step": s, "epoch": s / 100, "split": "validation", "name": "loss", "value": v}
    for s, v in ((0, 2.0), (10, 1.5), (20, 1.8), (30, 2.2))]


def run(name, cfg, value=None, status="Completed"):
    return PastRun(name, name, status, cfg, value)


# ---------------------------------------------------------------------- history
def test_a_better_learning_rate_on_the_same_data_is_proposed_with_its_evidence():
    history = ProjectHistory([run("lr-3e-4", config(learning_rate=3e-4, epochs=1), 1.08),
                              run("lr-2e-4", config(learning_rate=2e-4, epochs=1), 1.15)])
    rec = recommend(config(), PLATEAU, status="Completed", history=history, own_value=1.20)
    assert rec.rule == "history"
    assert rec.overrides == {"training": {"learning_rate": 0.0003}}
    assert rec.evidence[0] == ("3 runs on this dataset: learning rate 0.0003 beat 0.0001 by 0.12 validation loss "
                               "(1.08 vs 1.2)")
    assert "3 other runs" not in rec.evidence[1] and rec.evidence[1].startswith("2 other runs on this dataset")


def test_when_the_winning_value_was_tried_the_next_step_in_its_direction_is_proposed():
    history = ProjectHistory([run("lr-3e-4", config(learning_rate=3e-4), 1.08)])
    rec = recommend(config(), PLATEAU, history=history, own_value=1.20)
    assert rec.overrides == {"training": {"learning_rate": 0.0009}}
    assert any(line.startswith("already tried, not proposed again: training.learning_rate 0.0003 (run lr-3e-4")
               for line in rec.evidence)


def test_runs_on_another_dataset_or_problem_type_are_not_evidence():
    other_data = from_dict({"dataset": {"train_dataset_id": "d2"}, "training": {"learning_rate": 3e-4}})
    history = ProjectHistory([run("elsewhere", other_data, 0.1)])
    rec = recommend(config(), PLATEAU, history=history, own_value=1.20)
    assert rec.rule == "plateau" and "no other runs on this dataset in the project" in rec.evidence


def test_a_higher_is_better_metric_is_compared_that_way():
    history = ProjectHistory([run("r8", config(lora_rank=8, epochs=1), 30.0), run("r16", config(lora_rank=16), 20.0)],
                             metric="BLEU", higher_is_better=True)
    rec = recommend(config(), PLATEAU, history=history, own_value=10.0)
    assert rec.overrides["training"]["lora_rank"] == 8 or rec.overrides["training"].get("epochs") == 1
    assert "BLEU" in rec.evidence[0] and "beat" in rec.evidence[0]


def test_a_failed_run_learns_what_did_best_after_fixing_its_failure():
    history = ProjectHistory([run("ok", config(batch_size=4), 1.0)])
    rec = recommend(config(batch_size=8), [], status="Failed", error="CUDA out of memory", history=history)
    assert rec.rule == "out_of_memory" and rec.overrides["training"]["batch_size"] == 4


@pytest.mark.parametrize("metrics, status, error", [
    (PLATEAU, "Completed", None), (UNDERFIT, "Completed", None), (OVERFIT, "Stopped", None),
    (curve([2.0, 2.0, 1.99, 1.995, 1.99, 1.99, 1.99, 1.99]), "Completed", None),
    (curve([2.0, 1.9, math.nan, math.nan]), "Completed", None),
    ([], "Failed", "CUDA out of memory. Tried to allocate 2.00 GiB"),
])
def test_kgm_never_proposes_a_config_already_tried_in_the_project(metrics, status, error):
    """Ask again and again, running each suggestion: no suggestion repeats any run of the project."""
    base = config(batch_size=8)
    history = ProjectHistory([run("base-copy", base.model_copy(update={"experiment_name": "copy"}), None, "Failed")])
    tried = {config_signature(base)}
    for number in range(12):
        rec = recommend(base, metrics, status=status, error=error, history=history)
        if not rec.launchable:
            assert rec.rule == "exhausted" and number > 0
            break
        proposed = rec.apply_to(base)
        assert config_signature(proposed) not in tried, (number, rec.overrides)
        tried.add(config_signature(proposed))
        history.runs.append(run(f"kgm-{number}", proposed, None, "Completed"))
    assert len(tried) > 3


def test_the_run_itself_and_its_copies_count_as_tried():
    base = config()
    same = base.model_copy(update={"experiment_name": "a-copy"})
    assert ProjectHistory([run("copy", same)]).tried(base).name == "copy"
    assert ProjectHistory([run("other", config(learning_rate=1.0000001e-4))]).tried(base) is not None


# ---------------------------------------------------------------------- registry
MODELS = [RegisteredModel("org/text-300m"), RegisteredModel("org/text-1.5b"), RegisteredModel("org/text-7b"),
          RegisteredModel("org/vision-2b", problem_types=("image_classification",)),
          RegisteredModel("org/text-1b-gated")]


def sized(backbone, memory=8 * GIB, loadable=lambda m: "gated" not in m):
    cfg = from_dict({**DATA, "llm_backbone": backbone})
    return cfg, backbone_options(cfg, MODELS, memory, loadable)


def test_a_model_size_is_read_from_its_name():
    assert model_parameters("h2oai/h2o-danube3-500m-chat") == 500e6
    assert model_parameters("Qwen/Qwen3-1.7B") == pytest.approx(1.7e9)
    assert model_parameters("meta-llama/Llama-3.2-1B-Instruct") == 1e9
    assert model_parameters("google/vit-base-patch16-224") is None


def test_a_model_size_is_read_from_a_local_config(tiny_llama_dir):
    assert 1e3 < model_parameters(str(tiny_llama_dir)) < 1e8


def test_an_under_fitting_run_gets_the_next_larger_backbone_that_fits_in_memory():
    cfg, options = sized("org/text-300m")
    # 1b is gated (not loadable here), 7b needs ~21 GB for LoRA, vision-2b is another problem type.
    assert options.larger.id == "org/text-1.5b" and options.smaller is None
    history = ProjectHistory([run("longer", cfg.model_copy(update={"training": cfg.training.model_copy(
        update={"epochs": cfg.training.epochs * 2})}))])
    rec = recommend(cfg, UNDERFIT, history=history, backbones=options)
    assert rec.overrides == {"llm_backbone": "org/text-1.5b"} and rec.rule == "larger-backbone"
    assert "about 1.5B parameters, against 300M" in rec.explanation


def test_no_larger_backbone_when_memory_does_not_allow_it():
    _, options = sized("org/text-300m", memory=2 * GIB)
    assert options.larger is None


def test_an_overfitting_run_can_get_a_smaller_backbone():
    cfg, options = sized("org/text-7b")
    assert options.smaller.id == "org/text-1.5b"
    assert options.candidates("smaller", cfg, "it overfits")[0].overrides == {"llm_backbone": "org/text-1.5b"}


def test_an_out_of_memory_run_gets_a_smaller_backbone_once_the_memory_fixes_were_tried():
    cfg, options = sized("org/text-7b")
    cfg = cfg.model_copy(update={"training": cfg.training.model_copy(update={"batch_size": 2})})
    history = ProjectHistory()
    for _ in range(3):  # batch 1 with the same effective batch, then shorter sequences, then the backbone
        rec = recommend(cfg, [], status="Failed", error="CUDA out of memory", history=history, backbones=options)
        history.runs.append(run("tried", rec.apply_to(cfg), None, "Failed"))
    assert rec.overrides == {"llm_backbone": "org/text-1.5b"}


def test_the_memory_that_bounds_a_larger_backbone_is_the_smallest_gpus():
    assert smallest_gpu_bytes("81920\n40960\n") == 40960 * 2**20
    assert smallest_gpu_bytes("143771 MiB\n[N/A]\n\n") == 143771 * 2**20
    assert smallest_gpu_bytes("") is None


def test_a_backbone_of_unknown_size_gets_no_backbone_advice():
    _, options = sized("org/mystery")
    assert options.larger is None and options.smaller is None and "unknown" in options.note


# ---------------------------------------------------------------------- cost
def test_the_cost_line_scales_the_runtime_with_the_epochs_of_the_suggestion():
    cfg = config()
    rec = recommend(cfg, UNDERFIT)
    assert rec.overrides == {"training": {"epochs": 4}}
    assert cost_line(cfg, rec, 300.0, 1, 0.5) == ("cost: this run took 5m 00s on 1 GPU, $0.50; "
                                                  "the suggested run: about 10m 00s, $1.00")
    assert cost_line(cfg, rec, 0.0, 0, 0.0) == ""
