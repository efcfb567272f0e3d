"""An OpenAI-compatible server for one trained model: ``python -m studio.serve --model PATH``."""

# The serving process reads its API key from this variable (never from argv, which `ps` shows).
API_KEY_ENV = "STUDIO_SERVE_API_KEY"
