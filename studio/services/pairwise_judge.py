"""Pairwise judging: which of two answers to a prompt is better, asked in both orders.

A judge model prefers whichever answer it reads first (or second) more often than chance; asking
twice with the answers swapped cancels that. A prompt is a win for the candidate only when both
orders prefer it, a loss when both prefer the baseline, and a tie otherwise (an explicit tie or
a verdict that changed with the order). The win rate counts a tie as half a win; its 95%
interval is Wilson's score interval on that rate.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

WIN, TIE, LOSS = "win", "tie", "loss"
CANDIDATE, BASELINE = "candidate", "baseline"
Z_95 = 1.959963984540054

JUDGE_PROMPT = """You compare two answers to the same request. Judge helpfulness, correctness and \
clarity; ignore which answer comes first and how long it is.

Request:
{PROMPT}

Answer A:
{ANSWER_A}

Answer B:
{ANSWER_B}

Reply with one line "Verdict: A", "Verdict: B" or "Verdict: tie", then one sentence of reason."""

_VERDICT = re.compile(r"verdict\s*[:=]?\s*\**\s*(A|B|tie)\b", re.I)


def judge_prompt(prompt: str, answer_a: str, answer_b: str) -> str:
    # str.replace, not str.format: prompts and answers often contain braces.
    return (JUDGE_PROMPT.replace("{PROMPT}", prompt).replace("{ANSWER_A}", answer_a)
            .replace("{ANSWER_B}", answer_b))


def parse_verdict(reply: str | None) -> str | None:
    """"A", "B" or "tie" from the judge's reply (the last verdict line wins); None when there is none."""
    found = _VERDICT.findall(reply or "")
    if not found:
        return None
    last = found[-1]
    return "tie" if last.lower() == "tie" else last.upper()


def preferred(verdict: str | None, candidate_first: bool) -> str:
    """Who one verdict prefers: candidate, baseline, or tie (also for a reply without a verdict)."""
    if verdict not in ("A", "B"):
        return TIE
    return CANDIDATE if (verdict == "A") == candidate_first else BASELINE


def outcome(first: str | None, second: str | None) -> str:
    """The prompt's result from the verdict with the candidate as A (first) and as B (second)."""
    one, two = preferred(first, True), preferred(second, False)
    if one == two == CANDIDATE:
        return WIN
    if one == two == BASELINE:
        return LOSS
    return TIE


@dataclass(frozen=True)
class WinRate:
    wins: int
    ties: int
    losses: int

    @property
    def total(self) -> int:
        return self.wins + self.ties + self.losses

    @property
    def rate(self) -> float:
        return (self.wins + 0.5 * self.ties) / self.total if self.total else float("nan")

    def interval(self, z: float = Z_95) -> tuple[float, float]:
        """Wilson score interval of the win rate (ties counted as half a win)."""
        n = self.total
        if not n:
            return float("nan"), float("nan")
        p = self.rate
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def as_dict(self) -> dict:
        low, high = self.interval()
        return {"wins": self.wins, "ties": self.ties, "losses": self.losses, "total": self.total,
                "win_rate": self.rate, "ci_low": low, "ci_high": high}


def win_rate(outcomes: list[str]) -> WinRate:
    return WinRate(outcomes.count(WIN), outcomes.count(TIE), outcomes.count(LOSS))
