"""Retry policy as data, and the pure decision of whether and how long to wait before retrying.

The rules (partner-center-api.md §6, §9; the issue's "retries that can't hurt"):

- 429: wait ``Retry-After`` (plus jitter), and if throttled again back off exponentially from
  that value. A throttled request was not processed, so this holds for reads and writes.
- 5xx, 408 and connection failures: reads retry freely; writes retry only with the same
  ``MS-RequestId`` (the caller's), and when attempts run out the outcome is *unknown*.
- 401: the token is refreshed once, then the error stands.
- every other 4xx is a business answer and is never retried.

This module must NOT sleep, read clocks, or do I/O: ``http`` asks it and does the waiting.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Verdict(enum.Enum):
    """What to do with a failed attempt."""

    #: Give up and raise the mapped error (a definite answer).
    FAIL = "fail"
    #: Wait ``delay`` seconds, then try again (same MS-RequestId).
    RETRY = "retry"
    #: Refresh the token and retry at once.
    REFRESH_TOKEN = "refresh_token"
    #: A write ran out of attempts without a definite answer: raise ``UnknownOutcome``.
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts, how long to wait between them. All durations in seconds."""

    #: Attempts for a read (the first try included).
    read_attempts: int = 5
    #: Attempts for a write; each retry carries the same MS-RequestId.
    write_attempts: int = 3
    #: Extra attempts granted for 429s on top of the above (throttling is not failure).
    throttle_attempts: int = 6
    backoff_base: float = 1.0
    backoff_factor: float = 2.0
    backoff_max: float = 60.0
    #: Fraction of the wait added at random, so parallel workers don't retry in lockstep.
    jitter: float = 0.2
    #: Longest single wait we accept from a Retry-After header.
    max_retry_after: float = 300.0
    #: Retry-After assumed when a 429 carries none.
    default_retry_after: float = 5.0
    #: Shortest wait after a 429, even when Retry-After says 0 (no immediate retries).
    min_throttle_wait: float = 1.0


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt, as the policy needs to see it."""

    #: HTTP status, or ``None`` when no response arrived (connection error or timeout).
    status: int | None
    #: True when the request surely never reached the server (connection refused/connect
    #: timeout): even a write may then be retried as if it were new.
    not_sent: bool = False
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    delay: float = 0.0


def backoff(policy: RetryPolicy, retry_number: int, *, start: float | None = None) -> float:
    """Exponential wait before retry number ``retry_number`` (1-based), capped."""
    base = policy.backoff_base if start is None else max(start, policy.backoff_base)
    return float(min(policy.backoff_max, base * policy.backoff_factor ** (retry_number - 1)))


def with_jitter(policy: RetryPolicy, delay: float, unit_random: float) -> float:
    """``delay`` plus up to ``policy.jitter`` of itself; ``unit_random`` is in [0, 1)."""
    return delay + delay * policy.jitter * unit_random


def decide(
    policy: RetryPolicy,
    failure: Failure,
    *,
    is_write: bool,
    attempt: int,
    throttled_so_far: int,
    token_refreshed: bool,
    possibly_delivered: bool | None = None,
    unit_random: float = 0.0,
) -> Decision:
    """What to do after failed attempt number ``attempt`` (1-based).

    ``throttled_so_far`` counts the 429s already seen for this call (this one included when
    ``failure`` is a 429); ``token_refreshed`` says whether a 401 already forced a refresh;
    ``possibly_delivered`` says whether any attempt so far may have reached the server
    (default: this one, unless it is ``not_sent``).
    """
    status = failure.status
    if status == 429:
        if throttled_so_far > policy.throttle_attempts:
            return Decision(Verdict.FAIL)
        first = failure.retry_after
        first = policy.default_retry_after if first is None else first
        first = min(max(first, policy.min_throttle_wait), policy.max_retry_after)
        # Microsoft: wait Retry-After; if throttled again keep backing off from that value
        # (never less than Retry-After, never more than max_retry_after).
        grown = first * policy.backoff_factor ** (throttled_so_far - 1)
        wait = max(first, min(policy.max_retry_after, grown))
        return Decision(Verdict.RETRY, with_jitter(policy, wait, unit_random))
    if status == 401:
        return Decision(Verdict.FAIL if token_refreshed else Verdict.REFRESH_TOKEN)
    transient = status is None or status == 408 or status >= 500
    if not transient:
        return Decision(Verdict.FAIL)
    limit = policy.write_attempts if is_write else policy.read_attempts
    non_throttle_attempts = attempt - throttled_so_far
    if non_throttle_attempts >= limit:
        delivered = not failure.not_sent if possibly_delivered is None else possibly_delivered
        unsure = is_write and delivered
        return Decision(Verdict.UNKNOWN if unsure else Verdict.FAIL)
    wait = backoff(policy, non_throttle_attempts)
    return Decision(Verdict.RETRY, with_jitter(policy, wait, unit_random))
