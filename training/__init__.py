"""Studio's training engine: ``python -m training RUN_DIR``. Runs in its own process."""
