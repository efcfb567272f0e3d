"""Ask KGM recommendations follow the run's curves."""
import math

from studio.config import from_dict
from studio.services.recommend import recommend

CONFIG = from_dict({"dataset": {"train_dataframe": "t.csv"}, "training": {"epochs": 2, "learning_rate": 1e-4}})


def curve(split, values, start=0):
    return [{"step": start + i * 10, "epoch": (start + i * 10) / 100, "split": split, "name": "loss", "value": v}
            for i, v in enumerate(values)]


def test_overfitting_run_is_told_to_stop_at_the_best_epoch():
    metrics = curve("train", [3, 2.5, 2, 1.5, 1, 0.5, 0.2, 0.1]) + curve("validation", [2.0, 1.5, 1.8, 2.2])
    rec = recommend(CONFIG, metrics)
    assert "overfit" in rec.title.lower()
    assert rec.overrides["training"]["epochs"] < 2
    assert rec.apply_to(CONFIG).training.epochs == rec.overrides["training"]["epochs"]


def test_flat_loss_raises_the_learning_rate():
    rec = recommend(CONFIG, curve("train", [2.0, 2.0, 1.99, 1.995, 1.99, 1.99, 1.99, 1.99]))
    assert rec.overrides["training"]["learning_rate"] > 1e-4


def test_nan_loss_lowers_the_learning_rate_and_clips():
    rec = recommend(CONFIG, curve("train", [2.0, 1.9, math.nan, math.nan]))
    assert rec.overrides["training"]["learning_rate"] < 1e-4
    assert rec.overrides["training"]["gradient_clip"] == 1.0


def test_still_improving_run_trains_longer():
    metrics = curve("train", [3, 2.8, 2.6, 2.4, 2.2, 2.0, 1.8, 1.6]) + curve("validation", [2.9, 2.5, 2.1])
    assert recommend(CONFIG, metrics).overrides["training"]["epochs"] == 4


def test_out_of_memory_failure_keeps_the_effective_batch():
    config = from_dict({"dataset": {"train_dataframe": "t.csv"}, "training": {"batch_size": 8}})
    rec = recommend(config, [], status="Failed", error="CUDA out of memory. Tried to allocate 2 GiB")
    assert rec.overrides["training"] == {"batch_size": 4, "grad_accumulation": 2}


# ---------------------------------------------------------------------- a suggestion lists only real changes
def test_more_adapter_capacity_does_not_list_the_unchanged_alpha():
    # rank 4 → 8 gives alpha 16, which is already the default: only the rank is a change.
    metrics = curve("train", [2.0, 1.5, 1.2, 1.1, 1.1, 1.1, 1.1, 1.1]) + curve("validation", [1.2, 1.15, 1.15])
    rec = recommend(CONFIG, metrics)
    assert rec.overrides == {"training": {"lora_rank": 8}}
    assert "alpha stays 16" in rec.explanation and "converged" not in rec.explanation


def test_out_of_memory_at_batch_one_does_not_list_the_unchanged_batch_and_checkpointing():
    rec = recommend(CONFIG, [], status="Failed", error="torch.OutOfMemoryError: CUDA out of memory.")
    # batch 1 and gradient checkpointing on already: the real change is shorter sequences.
    assert rec.overrides == {"tokenizer": {"max_length": 256}}
    assert rec.apply_to(CONFIG).tokenizer.max_length == 256


# ---------------------------------------------------------------------- a failed run gets advice on its failure
LOAD_ERROR = ("llm_backbone: cannot load 'h2oai/h2o-danube3-500m-chat': We couldn't connect to "
              "'https://huggingface.co' to load the files, and couldn't find them in the cached files.")
HEALTHY = curve("train", [2.0, 1.5, 1.2, 1.1, 1.1, 1.1, 1.1, 1.1])


def test_a_run_whose_model_could_not_be_loaded_is_told_how_to_provide_it():
    rec = recommend(CONFIG, HEALTHY, status="Failed", error=LOAD_ERROR)
    assert "could not be loaded" in rec.title.lower() or "could not be loaded" in rec.explanation
    assert "converged" not in rec.explanation and "LoRA rank" not in rec.explanation
    assert "huggingface-cli download h2oai/h2o-danube3-500m-chat" in rec.explanation
    assert rec.overrides == {} and not rec.launchable


def test_a_run_whose_model_could_not_be_loaded_switches_to_one_that_loads_here():
    rec = recommend(CONFIG, [], status="Failed", error=LOAD_ERROR, alternative_model="/models/tiny-llama")
    assert rec.overrides == {"llm_backbone": "/models/tiny-llama"} and rec.launchable
    assert rec.apply_to(CONFIG).llm_backbone == "/models/tiny-llama"


def test_a_nan_failure_lowers_the_learning_rate():
    rec = recommend(CONFIG, [], status="Failed", error="RuntimeError: loss is NaN at step 12")
    assert rec.overrides == {"training": {"learning_rate": 3.33e-05, "gradient_clip": 1.0}}


def test_a_data_failure_names_the_fix_and_launches_nothing():
    rec = recommend(CONFIG, HEALTHY, status="Failed",
                    error="dataset.input_column: column 'question' not found; available columns: input, output")
    assert "data" in rec.title.lower() and "'question'" in rec.explanation
    assert not rec.launchable


def test_a_judge_timeout_evaluates_without_the_judge():
    config = from_dict({"dataset": {"train_dataframe": "t.csv"},
                        "prediction": {"metrics": ["Perplexity", "LLM-as-a-Judge"]},
                        "training": {"llm_judge_model": "gpt-4o-mini"}})
    rec = recommend(config, [], status="Failed", error="openai.APITimeoutError: Request timed out (LLM judge)")
    assert rec.overrides == {"prediction": {"metrics": ["Perplexity"]}}


def test_a_hub_timeout_points_at_the_network_and_launches_nothing():
    rec = recommend(CONFIG, [], status="Failed", error="ReadTimeout: huggingface.co read timed out")
    assert "did not answer in time" in rec.explanation and not rec.launchable


def test_an_unknown_failure_is_quoted_not_guessed_at():
    rec = recommend(CONFIG, HEALTHY, status="Failed", error="exited with code 3")
    assert "“exited with code 3”" in rec.explanation and not rec.launchable
