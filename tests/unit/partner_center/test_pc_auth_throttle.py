"""Token caching and refresh before expiry; the token bucket's pacing; MSAL's HTTP trust."""

from __future__ import annotations

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from pc_fakes import FakeTime

from reconciler.partner_center import auth, http, throttle


def _acquirer(log: list[bool]):  # type: ignore[no-untyped-def]
    def acquire(force: bool) -> auth.Acquired:
        log.append(force)
        return auth.Acquired(f"tok-{len(log)}", 3600)

    return acquire


def test_token_is_cached_until_shortly_before_expiry(fake_time: FakeTime) -> None:
    calls: list[bool] = []
    provider = auth.CachingTokenProvider(_acquirer(calls), clock=fake_time.clock, margin=300)
    assert provider.token() == "tok-1"
    fake_time.now += 3000  # 600 s left: still fresh
    assert provider.token() == "tok-1"
    fake_time.now += 301  # inside the 300 s margin: refreshed before it expires
    assert provider.token() == "tok-2"
    assert calls == [False, False]


def test_forced_refresh_fetches_a_new_token(fake_time: FakeTime) -> None:
    calls: list[bool] = []
    provider = auth.CachingTokenProvider(_acquirer(calls), clock=fake_time.clock)
    provider.token()
    assert provider.token(force_refresh=True) == "tok-2"
    assert calls == [False, True]


def test_acquired_repr_hides_the_token() -> None:
    assert "s3cret" not in repr(auth.Acquired("s3cret", 10))


def test_msal_http_client_passes_verify_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/elsewhere.pem")
    with responses.RequestsMock() as mocked:
        mocked.get("https://login.test/t/v2.0/.well-known/openid-configuration", json={})
        mocked.post("https://login.test/t/oauth2/v2.0/token", json={})
        client = auth.MsalHttpClient(http.new_session(), verify="/ca.pem", timeout=5)
        client.get("https://login.test/t/v2.0/.well-known/openid-configuration")
        client.post("https://login.test/t/oauth2/v2.0/token", data={"a": "b"})
        assert [c.request.req_kwargs["verify"] for c in mocked.calls] == ["/ca.pem"] * 2


def test_bucket_lets_a_burst_through_then_paces(fake_time: FakeTime) -> None:
    bucket = throttle.TokenBucket(120, burst=2, clock=fake_time.clock, sleep=fake_time.sleep)
    for _ in range(6):
        bucket.acquire()
    # 2 immediately, then one every 0.5 s.
    assert fake_time.sleeps == [0.5, 0.5, 0.5, 0.5]


@settings(max_examples=50)
@given(
    rate=st.floats(min_value=30, max_value=3000),
    n=st.integers(min_value=10, max_value=400),
    burst=st.floats(min_value=1, max_value=20),
)
def test_bucket_never_exceeds_its_rate(rate: float, n: int, burst: float) -> None:
    t = FakeTime()
    bucket = throttle.TokenBucket(rate, burst=burst, clock=t.clock, sleep=t.sleep)
    start = t.now
    for _ in range(n):
        bucket.acquire()
    elapsed = t.now - start
    # n requests may use the burst, the rest at most rate/60 per second.
    assert n <= burst + elapsed * rate / 60 + 1e-6
    # ... and the bucket wastes no budget: it waits no longer than needed.
    assert elapsed <= max(0.0, (n - burst) * 60 / rate) + 1e-6


def test_bucket_set_gives_each_key_its_own_budget(fake_time: FakeTime) -> None:
    buckets = throttle.BucketSet(60, clock=fake_time.clock, sleep=fake_time.sleep)
    assert buckets.get("a") is buckets.get("a")
    assert buckets.get("a") is not buckets.get("b")
