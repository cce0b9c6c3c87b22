"""Client-side pacing: token buckets that keep a partner tenant (and each partner-customer pair)
under Partner Center's documented request rates, so a large read uses its budget fully without
provoking 429s (partner-center-api.md §6).

A bucket is thread-safe; callers block in ``acquire`` until a token is available. Clock and
sleep are injected so tests never wait in real time. This module must NOT do HTTP or decide
retries; it only paces.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass
class TokenBucket:
    """``rate_per_minute`` tokens per minute, at most ``burst`` banked.

    The bucket starts with ``burst`` tokens; a small burst (the default: one second's worth)
    keeps the observed rate close to ``rate_per_minute`` even over short reads, which matters
    because the server's own window may be shorter than ours.
    """

    rate_per_minute: float
    burst: float | None = None
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    _tokens: float = field(init=False)
    _stamp: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    waited: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if self.rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        if self.burst is None:
            self.burst = max(1.0, self.rate_per_minute / 60.0)
        self._tokens = float(self.burst)
        self._stamp = self.clock()

    @property
    def per_second(self) -> float:
        return self.rate_per_minute / 60.0

    def _reserve(self) -> float:
        """Take one token (possibly going negative) and return how long to wait for it."""
        with self._lock:
            now = self.clock()
            assert self.burst is not None
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.per_second)
            self._stamp = now
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            # A reservation: later callers queue behind this one, so waits are fair and the
            # long-run rate never exceeds the configured one.
            wait = -self._tokens / self.per_second
            self.waited += wait
            return wait

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds waited."""
        wait = self._reserve()
        if wait > 0:
            self.sleep(wait)
        return wait


def burst_tokens(rate_per_minute: float, burst_seconds: float) -> float:
    """The tokens a bucket may bank: ``burst_seconds`` of the per-minute budget, at least one.

    This is the burst policy (the ``burst_seconds`` setting, docs/configuration.md): how much
    of each minute's budget may be sent at once after an idle spell. Partner Center documents
    its limits per minute but not whether a burst of a whole minute's budget is tolerated, and
    Microsoft's throttling guidance asks clients to keep the degree of parallelism and the call
    frequency down (its limits are adjusted dynamically from telemetry). So the default is one
    second's worth: the long-run rate is the same whatever the burst, only the peak differs.
    """
    return max(1.0, rate_per_minute / 60.0 * burst_seconds)


class BucketSet:
    """One bucket per key (e.g. per customer), created on first use with the same settings."""

    def __init__(
        self, rate_per_minute: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ) -> None:
        self._rate = rate_per_minute
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> TokenBucket:
        """The bucket of ``key``."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                # Per-customer buckets may burst a few requests: reads of one customer are
                # short, and the tenant bucket bounds the total anyway.
                bucket = TokenBucket(
                    self._rate,
                    burst=max(1.0, self._rate / 60.0 * 5),
                    clock=self._clock,
                    sleep=self._sleep,
                )
                self._buckets[key] = bucket
            return bucket
