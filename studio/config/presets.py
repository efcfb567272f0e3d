"""Starting settings the New Experiment dialog can open with (``?view=experiments&new=1&preset=<name>``).

A preset holds overrides only; the schema's defaults fill the rest, and the dialog shows the
result as ordinary fields that the user can still change.
"""
from __future__ import annotations

TRY_IT = "try-it"

DRAFT_PRESETS: dict[str, dict] = {
    # The demo's one button: a visitor of a CPU Space must see Queued -> Completed in under a minute
    # (measured in docs/ui.md). The tiny Llama has ~0.1M weights, so time goes to per-step
    # overhead and generation, not arithmetic: few large steps, short sequences, one evaluation.
    TRY_IT: {
        "tokenizer": {"max_length": 96},  # demo_instructions samples have at most ~72 tokens
        # Full training of 0.1M weights costs no more than LoRA and makes the loss visibly fall;
        # checkpointing would only recompute what fits in memory anyway.
        "architecture": {"training_mode": "full", "gradient_checkpointing": False},
        "training": {"batch_size": 8, "learning_rate": 0.003, "evaluation_epochs": 1},
        "prediction": {"max_length_inference": 16},  # the answers are one word or number
    },
}
