"""Cross-cutting behaviour around the API: throttling (token buckets), fault injection by
route, and ``MS-RequestId`` idempotent replay. Each is deterministic given the emulator clock
and a seed. This module must not know any route's business rules.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import math
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.protocol import Response

FAULT_KINDS = ("latency", "error", "reset", "throttle", "drop_after_commit", "timeout_after_commit")


class Throttle:
    """Token buckets per partner tenant and per (partner, customer) pair, on the emulator clock."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], tuple[float, dt.datetime]] = {}
        self._lock = threading.Lock()

    def take(self, key: tuple[str, str], per_minute: int, now: dt.datetime) -> int:
        """Take one token; 0 if allowed, else the seconds until one is available."""
        if per_minute <= 0:
            return 0
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + max(0.0, (now - last).total_seconds()) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))

    def reset(self) -> None:
        """Refill every bucket."""
        with self._lock:
            self._buckets.clear()


@dataclass(slots=True)
class FaultRule:
    """Inject ``kind`` into requests matching ``method`` and the glob ``path``.

    ``probability`` (0..1) and ``count`` (how many times at most; None = unlimited) select
    which matching requests are hit; ``after`` skips the first N matches. ``partner`` (a
    partner tenant's name or id) limits the rule to API calls signed in as that partner, so
    one tenant can fail while another answers the same path. ``code``: the Partner Center
    error code in the body of an ``error`` answer (0: none), e.g. 400 ``2055`` for a stale
    ETag, which no PATCH without ``If-Match`` provokes otherwise.
    """

    kind: str
    path: str = "*"
    method: str = "*"
    partner: str = "*"
    probability: float = 1.0
    count: int | None = None
    after: int = 0
    status: int = 503
    code: int = 0
    retry_after: int = 7
    latency_ms: int = 0
    seen: int = 0
    fired: int = 0

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaultRule:
        """Build from camelCase or snake_case JSON (the control surface)."""
        norm = {
            "".join("_" + c.lower() if c.isupper() else c for c in k): v for k, v in raw.items()
        }
        rule = cls(
            **{k: v for k, v in norm.items() if k in cls.__slots__ and k not in ("seen", "fired")}
        )
        if rule.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {rule.kind!r}; one of {', '.join(FAULT_KINDS)}")
        return rule

    def as_dict(self) -> dict[str, Any]:
        """The rule and its counters as camelCase JSON."""
        out = {}
        for name in self.__slots__:
            head, *rest = name.split("_")
            out[head + "".join(p.title() for p in rest)] = getattr(self, name)
        return out


@dataclass(slots=True)
class Faults:
    """The active fault rules and the seeded random source that picks victims."""

    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    _random: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random.seed(self.seed)

    def set(self, rules: list[FaultRule], seed: int | None = None) -> None:
        """Replace the rules (and reseed, so runs repeat)."""
        with self._lock:
            self.rules = list(rules)
            if seed is not None:
                self.seed = seed
            self._random.seed(self.seed)

    @property
    def by_partner(self) -> bool:
        """True when some rule is limited to one partner (the caller must say who calls)."""
        return any(rule.partner != "*" for rule in self.rules)

    def pick(self, method: str, path: str, partner: tuple[str, ...] = ()) -> FaultRule | None:
        """The first rule that fires for this request, counting matches. ``partner``: the
        calling partner's name and tenant id, when known."""
        if not self.rules:
            return None
        with self._lock:
            for rule in self.rules:
                if rule.method not in ("*", method.upper()):
                    continue
                if not fnmatch.fnmatchcase(path.lower(), rule.path.lower()):
                    continue
                if rule.partner != "*" and rule.partner.lower() not in partner:
                    continue
                rule.seen += 1
                if rule.seen <= rule.after or (rule.count is not None and rule.fired >= rule.count):
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None


class Replays:
    """Remembered write outcomes keyed by (partner tenant, MS-RequestId, method, path)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, str, str], tuple[dt.datetime, Response]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str, str], now: dt.datetime) -> Response | None:
        """The stored response if the key was seen within its TTL."""
        with self._lock:
            hit = self._seen.get(key)
            if hit is None:
                return None
            if hit[0] < now:
                del self._seen[key]
                return None
            return hit[1]

    def put(self, key: tuple[str, str, str, str], response: Response, expires: dt.datetime) -> None:
        """Remember ``response`` until ``expires`` (emulator clock)."""
        with self._lock:
            if len(self._seen) > 100_000:
                self._seen.clear()
            self._seen[key] = (
                expires,
                Response(response.status, None, dict(response.headers), raw=response.encode()),
            )

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._seen.clear()
