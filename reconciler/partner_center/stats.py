"""What a Partner Center client did: requests, retries, throttling and pacing, counted by
``http.Transport`` (one ``Stats`` per tenant, shared by its transports) for the CLI's summary.

This module must NOT know HTTP; it only counts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Stats:
    """What a client did; thread-safe. ``summary()`` is the line the CLI prints at the end."""

    clock: Callable[[], float] = time.monotonic
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    throttle_wait: float = 0.0
    pacing_wait: float = 0.0
    failures: int = 0
    #: Clock readings of the first and the last request sent (for the achieved rate).
    first_sent: float | None = None
    last_sent: float | None = None
    started: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def add(self, **deltas: float) -> None:
        with self._lock:
            for name, value in deltas.items():
                setattr(self, name, getattr(self, name) + value)

    def sent(self, now: float) -> None:
        """Count one request sent at ``now``."""
        with self._lock:
            self.requests += 1
            self.first_sent = now if self.first_sent is None else self.first_sent
            self.last_sent = now

    def rate_per_minute(self) -> float:
        """Requests per minute between the first and the last request (0 if fewer than 2)."""
        if self.first_sent is None or self.last_sent is None or self.requests < 2:
            return 0.0
        span = self.last_sent - self.first_sent
        return (self.requests - 1) / span * 60.0 if span > 0 else 0.0

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def summary(self) -> str:
        """One line: requests, retries, throttling and time."""
        return (
            f"{self.requests} requests, {self.retries} retries, {self.throttled} throttled "
            f"(waited {self.throttle_wait:.1f}s), paced {self.pacing_wait:.1f}s, "
            f"{self.elapsed:.1f}s"
        )
