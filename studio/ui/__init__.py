"""The Gradio UI: one module per page, each with build(ctx) and its event wiring."""
