"""AutoML proposals stay inside the search space and learn from finished trials."""
from studio.config import from_dict
from studio.services.automl import SearchSpace, Trial, objective_metric, propose

BASE = from_dict({"dataset": {"train_dataframe": "t.csv"}, "prediction": {"metrics": ["BLEU"]}})


def test_proposals_are_valid_configs_inside_the_space():
    space = SearchSpace()
    configs = propose(BASE, [], count=5, seed=1)
    assert len(configs) == 5
    for config in configs:
        assert space.learning_rate[0] <= config.training.learning_rate <= space.learning_rate[1]
        assert config.training.lora_rank in space.lora_rank
        assert config.dataset.train_dataframe == "t.csv"
    assert len({c.training.learning_rate for c in configs}) == 5


def test_finished_trials_steer_the_search_towards_the_best_region():
    # BLEU is higher-is-better; good trials all sit near lr 1e-4.
    finished = [Trial({"training": {"learning_rate": lr, "epochs": 1, "warmup_epochs": 0.0, "lora_rank": 8,
                                    "lora_dropout": 0.05}}, value=score)
                for lr, score in [(1e-5, 1.0), (2e-5, 2.0), (9e-4, 3.0), (5e-4, 8.0), (1e-4, 30.0),
                                  (1.2e-4, 29.0), (0.9e-4, 28.0), (3e-5, 5.0), (8e-5, 25.0), (1.1e-4, 31.0),
                                  (1.3e-4, 27.0)]]
    configs = propose(BASE, finished, count=8, seed=3)
    near = sum(5e-5 <= c.training.learning_rate <= 3e-4 for c in configs)
    assert near >= 5


def test_objective_is_the_first_selected_metric():
    assert objective_metric(BASE) == "BLEU"


def test_without_chosen_metrics_the_objective_is_the_metric_the_run_computed():
    causal = from_dict({"dataset": {"train_dataframe": "t.csv"}})
    assert objective_metric(causal) == "Perplexity"  # the Causal LM default, not "loss"
    classifier = from_dict({"problem_type": "text_causal_classification_modeling",
                            "dataset": {"train_dataframe": "t.csv"}})
    assert objective_metric(classifier) == "AUC"


def test_a_full_training_run_searches_no_lora_setting():
    from studio.services.automl import searched_settings

    full = from_dict({"dataset": {"train_dataframe": "t.csv"}, "architecture": {"training_mode": "full"}})
    assert searched_settings(full) == ["learning rate", "epochs", "warm-up"]
    assert "LoRA rank" in searched_settings(BASE)
    assert all(c.training.lora_rank == full.training.lora_rank for c in propose(full, [], count=3))
