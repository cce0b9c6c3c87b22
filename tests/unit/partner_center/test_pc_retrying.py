"""The retry policy as a pure function: invariants that make retries harmless."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reconciler.partner_center import retrying

POLICY = retrying.RetryPolicy()
business = st.sampled_from([400, 403, 404, 405, 409, 412, 417, 422])
transient = st.one_of(st.none(), st.sampled_from([408, 500, 502, 503, 504]))


@given(status=business, attempt=st.integers(1, 20), write=st.booleans())
def test_business_errors_are_never_retried(status: int, attempt: int, write: bool) -> None:
    d = retrying.decide(
        POLICY,
        retrying.Failure(status),
        is_write=write,
        attempt=attempt,
        throttled_so_far=0,
        token_refreshed=False,
    )
    assert d.verdict is retrying.Verdict.FAIL


@given(
    status=transient,
    attempt=st.integers(1, 30),
    throttled=st.integers(0, 5),
    write=st.booleans(),
    sent=st.booleans(),
    rnd=st.floats(0, 0.999),
)
def test_transient_failures_retry_a_bounded_number_of_times(
    status: int | None, attempt: int, throttled: int, write: bool, sent: bool, rnd: float
) -> None:
    throttled = min(throttled, attempt - 1)
    failure = retrying.Failure(status, not_sent=not sent)
    d = retrying.decide(
        POLICY,
        failure,
        is_write=write,
        attempt=attempt,
        throttled_so_far=throttled,
        token_refreshed=False,
        unit_random=rnd,
    )
    limit = POLICY.write_attempts if write else POLICY.read_attempts
    if attempt - throttled < limit:
        assert d.verdict is retrying.Verdict.RETRY
        assert 0 < d.delay <= POLICY.backoff_max * (1 + POLICY.jitter)
    elif write and sent:
        assert d.verdict is retrying.Verdict.UNKNOWN  # never a silent "failed" for a write
    else:
        assert d.verdict is retrying.Verdict.FAIL


@given(n=st.integers(1, 6), retry_after=st.floats(0, 1000), rnd=st.floats(0, 0.999))
def test_throttling_waits_at_least_retry_after_and_at_most_the_cap(
    n: int, retry_after: float, rnd: float
) -> None:
    d = retrying.decide(
        POLICY,
        retrying.Failure(429, retry_after=retry_after),
        is_write=True,
        attempt=n,
        throttled_so_far=n,
        token_refreshed=False,
        unit_random=rnd,
    )
    assert d.verdict is retrying.Verdict.RETRY
    assert d.delay >= min(retry_after, POLICY.max_retry_after)
    assert d.delay <= max(POLICY.max_retry_after, POLICY.backoff_max) * (1 + POLICY.jitter)


def test_throttling_gives_up_after_its_budget() -> None:
    d = retrying.decide(
        POLICY,
        retrying.Failure(429, retry_after=1),
        is_write=False,
        attempt=20,
        throttled_so_far=POLICY.throttle_attempts + 1,
        token_refreshed=False,
    )
    assert d.verdict is retrying.Verdict.FAIL


def test_a_401_refreshes_once() -> None:
    first = retrying.decide(
        POLICY,
        retrying.Failure(401),
        is_write=True,
        attempt=1,
        throttled_so_far=0,
        token_refreshed=False,
    )
    second = retrying.decide(
        POLICY,
        retrying.Failure(401),
        is_write=True,
        attempt=2,
        throttled_so_far=0,
        token_refreshed=True,
    )
    assert first.verdict is retrying.Verdict.REFRESH_TOKEN
    assert second.verdict is retrying.Verdict.FAIL


def test_retry_after_zero_still_waits() -> None:
    d = retrying.decide(
        POLICY,
        retrying.Failure(429, retry_after=0),
        is_write=False,
        attempt=1,
        throttled_so_far=1,
        token_refreshed=False,
    )
    assert d.delay >= POLICY.min_throttle_wait
