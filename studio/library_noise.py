"""Drop the start-up warnings of libraries that say nothing a user can act on.

bitsandbytes' CPU backend tries to fetch an optional Hub kernel whenever it is imported on a
CPU with AVX-512 BF16 and, without the ``kernels`` package (or offline), logs "Failed to load
CPU gemm_4bit_forward from kernels-community" at WARNING: it falls back to its own kernel, so
the line is noise at the top of every run's system log and every CLI run. Only that message
is dropped, at the logger that emits it, so the library's other warnings still reach the user.
"""
from __future__ import annotations

import logging

BITSANDBYTES_CPU_LOGGER = "bitsandbytes.backends.cpu.ops"
NOISE_PREFIXES = ("Failed to load CPU gemm_4bit_forward from kernels-community",)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(NOISE_PREFIXES)


_FILTER = _DropNoise()


def silence_library_noise() -> None:
    """Install the filter (idempotent); call before anything imports bitsandbytes."""
    logger = logging.getLogger(BITSANDBYTES_CPU_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
