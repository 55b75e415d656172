"""Rates for the read-outs (model steps per second, frames per second), averaged over the latest events."""

from __future__ import annotations

import time
from collections import deque


class Rate:
    """Events per second over the last ``window`` events: their count over the sum of their durations (or of the
    gaps between them), so one slow or one quick event moves the read-out only by its share."""

    def __init__(self, window: int = 30):
        self.seconds: deque[float] = deque(maxlen=window)
        self._last_tick: float | None = None

    def observe(self, seconds: float) -> None:
        """Record one event that took ``seconds``."""
        self.seconds.append(seconds)

    def tick(self, now: float | None = None) -> None:
        """Record one event happening at ``now`` (default: the current time); the rate is of the gaps."""
        now = time.perf_counter() if now is None else now
        if self._last_tick is not None:
            self.observe(now - self._last_tick)
        self._last_tick = now

    @property
    def per_second(self) -> float:
        """Events per second; 0.0 before the first measurement."""
        total = sum(self.seconds)
        return len(self.seconds) / total if total > 0 else 0.0
