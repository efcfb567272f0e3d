"""The experiment row shows the best evaluation of the primary metric, not just the last."""
import json

from studio.runner.run_results import final_metric_fields
from studio.services.model_card import build_model_card
from studio.store import Store


def test_best_metric_comes_from_the_engines_best_record(tmp_path):
    run_dir = tmp_path / "runs" / "abc"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("problem_type: text_causal_language_modeling\n"
                                         "prediction:\n  metrics: [BLEU, Perplexity]\n")
    (run_dir / "final_metrics.json").write_text(json.dumps(
        {"loss": 2.0, "BLEU": 10.0, "Perplexity": 7.4, "best": {"step": 20, "epoch": 1.0, "BLEU": 12.5}}))
    changes = final_metric_fields(run_dir)
    assert changes["metric_name"] == "BLEU" and changes["best_metric"] == 12.5
    card = build_model_card(run_dir, "me/model")
    assert "| BLEU | 10.0000 |" in card and "Best evaluation: step 20" in card and "{" not in card.split("## Final")[1]
