"""Prints the hostile-input corpus tally (cases per attack class, crashes, clean errors) after the run."""
from __future__ import annotations

from tests.datasets.hostile_corpus import TALLY, report_lines


def pytest_terminal_summary(terminalreporter):
    if TALLY:
        for line in report_lines():
            terminalreporter.write_line(line)
