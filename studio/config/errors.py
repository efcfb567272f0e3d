"""ConfigError: every problem with a configuration, each tied to its field path."""
from __future__ import annotations


class ConfigError(ValueError):
    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))
