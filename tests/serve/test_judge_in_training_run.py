"""LLM-as-a-Judge end to end: a training run asks a local Studio server to judge its predictions."""
import json

import pandas as pd
import pytest

from tests.engine_cli import run_engine


@pytest.mark.slow
def test_training_run_sends_its_predictions_to_a_local_judge(served_llama, tiny_llama_dir, tmp_path):
    rows = [{"input": f"Repeat: {w}", "output": w} for w in ["red", "blue", "green", "pink"] * 5]
    pd.DataFrame(rows).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "config.yaml").write_text(
        f"llm_backbone: {tiny_llama_dir}\n"
        f"dataset:\n  train_dataframe: {tmp_path / 'train.csv'}\n  validation_size: 0.2\n"
        "tokenizer:\n  max_length: 32\n"
        "training:\n  batch_size: 4\n  epochs: 1\n  llm_judge_model: tiny-llama\n"
        "prediction:\n  metrics: [Perplexity, LLM-as-a-Judge]\n  max_length_inference: 4\n"
        "environment:\n  seed: 1\n")
    run_dir = tmp_path / "run"
    done = run_engine("--config", str(tmp_path / "config.yaml"), "--out", str(run_dir), timeout=600,
                      OPENAI_BASE_URL=served_llama["base_url"], OPENAI_API_KEY=served_llama["api_key"],
                      CUDA_VISIBLE_DEVICES="")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((run_dir / "status.json").read_text())["status"] == "Completed"
    predictions = pd.read_parquet(run_dir / "predictions.parquet")
    # The judge (a random tiny model) answered every sample; its words are kept as explanations.
    assert "judge_explanation" in predictions.columns
    assert predictions["judge_explanation"].map(lambda text: isinstance(text, str) and len(text) > 0).all()
    train_log = (run_dir / "train.log").read_text()
    # A random model gives no parsable score: the metric is reported as failed, the run still completes.
    assert "LLM-as-a-Judge" in train_log
    assert served_llama["api_key"] not in train_log + (run_dir / "system.log").read_text()
