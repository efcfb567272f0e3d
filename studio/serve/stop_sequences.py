"""Cut generated text at the first stop sequence, even when it arrives split across deltas."""
from __future__ import annotations


class StopScanner:
    """Feed text deltas in; get back only the text that is certain to precede any stop sequence.

    A delta ending in the start of a stop sequence ("...<|" while waiting for "<|end|>") is held
    back until the next delta proves it is or is not the stop, so a stream never shows a stop
    sequence, not even half of one.
    """

    def __init__(self, stops: list[str] | None):
        self.stops = [s for s in (stops or []) if s]
        self.pending = ""
        self.stopped = False

    def feed(self, delta: str) -> str:
        if self.stopped:
            return ""
        self.pending += delta
        cuts = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if cuts:
            out, self.pending, self.stopped = self.pending[: min(cuts)], "", True
            return out
        hold = self._held_suffix_length()
        out = self.pending[: len(self.pending) - hold]
        self.pending = self.pending[len(self.pending) - hold:]
        return out

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return "" if self.stopped else out

    def _held_suffix_length(self) -> int:
        longest = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(self.pending)), longest, -1):
                if self.pending.endswith(stop[:k]):
                    longest = k
                    break
        return longest
