"""Studio: a self-hosted LLM fine-tuning studio (the app process side)."""
