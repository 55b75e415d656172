"""Moving-average rates for the page's read-outs: model steps per second, frames per second."""

from __future__ import annotations

import time


class Rate:
    """Events per second from an exponential moving average of their durations (or of the gaps between them)."""

    def __init__(self, smoothing: float = 0.9):
        self.smoothing = smoothing
        self.mean_seconds: float | None = None
        self._last_tick: float | None = None

    def observe(self, seconds: float) -> None:
        """Record one event that took ``seconds``."""
        if self.mean_seconds is None:
            self.mean_seconds = seconds
        else:
            self.mean_seconds = self.smoothing * self.mean_seconds + (1 - self.smoothing) * seconds

    def tick(self, now: float | None = None) -> None:
        """Record one event happening at ``now`` (default: the current time); the rate is of the gaps."""
        now = time.perf_counter() if now is None else now
        if self._last_tick is not None:
            self.observe(now - self._last_tick)
        self._last_tick = now

    @property
    def per_second(self) -> float:
        """Events per second; 0.0 before the first measurement."""
        return 1.0 / self.mean_seconds if self.mean_seconds else 0.0
