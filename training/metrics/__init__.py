"""Validation metrics, one module per family (text, classification, detection, llm_judge)."""
