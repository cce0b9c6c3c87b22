"""The HTTP seam: retries, throttling, idempotent writes, tokens, headers, the /v1 link rule."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import requests
import responses
from hypothesis import given
from hypothesis import strategies as st
from pc_fakes import API, CountingTokens, FakeTime

from reconciler.partner_center import errors as api_errors
from reconciler.partner_center import http

Make = Callable[..., http.Transport]


def _sent_ids(mocked: responses.RequestsMock) -> list[str]:
    return [c.request.headers["MS-RequestId"] for c in mocked.calls]


def test_throttled_read_waits_for_retry_after_then_succeeds(
    mocked: responses.RequestsMock, make_transport: Make, fake_time: FakeTime
) -> None:
    url = f"{API}/v1/customers"
    mocked.get(
        url,
        status=429,
        headers={"Retry-After": "7"},
        json={"statusCode": 429, "message": "Rate limit is exceeded."},
    )
    mocked.get(url, json={"items": []})
    t = make_transport()
    reply = t.call("GET", "/customers")
    assert reply.body == {"items": []}
    assert fake_time.sleeps == [7.0]
    assert t.stats.throttled == 1 and t.stats.throttle_wait == 7.0
    assert len(set(_sent_ids(mocked))) == 1


def test_repeated_throttling_backs_off_exponentially_from_retry_after(
    mocked: responses.RequestsMock, make_transport: Make, fake_time: FakeTime
) -> None:
    url = f"{API}/v1/customers"
    for _ in range(3):
        mocked.get(url, status=429, headers={"Retry-After": "2"})
    mocked.get(url, json={"items": []})
    make_transport().call("GET", "/customers")
    assert fake_time.sleeps == [2.0, 4.0, 8.0]


def test_throttling_that_never_ends_raises_throttled(
    mocked: responses.RequestsMock, make_transport: Make
) -> None:
    mocked.get(f"{API}/v1/customers", status=429, headers={"Retry-After": "1"})
    with pytest.raises(api_errors.ApiThrottled):
        make_transport().call("GET", "/customers")


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_transient_errors_are_retried_for_reads(
    mocked: responses.RequestsMock, make_transport: Make, fake_time: FakeTime, status: int
) -> None:
    url = f"{API}/v1/customers/c1"
    mocked.get(url, status=status)
    mocked.get(url, status=status)
    mocked.get(url, json={"id": "c1"})
    assert make_transport().call("GET", "/customers/c1").body == {"id": "c1"}
    assert fake_time.sleeps == [1.0, 2.0]
    assert len(mocked.calls) == 3


def test_connection_resets_are_retried_for_reads(
    mocked: responses.RequestsMock, make_transport: Make
) -> None:
    url = f"{API}/v1/customers/c1"
    mocked.get(url, body=requests.ConnectionError("reset by peer"))
    mocked.get(url, json={"id": "c1"})
    assert make_transport().call("GET", "/customers/c1").body == {"id": "c1"}


def test_reads_give_up_after_their_attempts_with_a_server_error(
    mocked: responses.RequestsMock, make_transport: Make
) -> None:
    mocked.get(f"{API}/v1/customers/c1", status=503)
    with pytest.raises(api_errors.ApiServerError) as info:
        make_transport().call("GET", "/customers/c1")
    assert not isinstance(info.value, api_errors.UnknownOutcome)
    assert len(mocked.calls) == 5


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, 800090, api_errors.ApiBusinessError),
        (403, 20002, api_errors.ApiNoRelationship),
        (404, 20003, api_errors.ApiNotFound),
        (409, 800060, api_errors.ApiConflict),
    ],
)
def test_business_errors_are_never_retried(
    mocked: responses.RequestsMock,
    make_transport: Make,
    fake_time: FakeTime,
    status: int,
    code: int,
    error: type[Exception],
) -> None:
    mocked.get(f"{API}/v1/x", status=status, json={"code": code, "description": "no"})
    mocked.post(f"{API}/v1/y", status=status, json={"code": code, "description": "no"})
    t = make_transport()
    with pytest.raises(error):
        t.call("GET", "/x")
    with pytest.raises(error):
        t.call("POST", "/y", body={}, request_id="w-1")
    assert len(mocked.calls) == 2
    assert fake_time.sleeps == []


def test_post_retried_after_a_timeout_carries_the_same_request_id(
    mocked: responses.RequestsMock, make_transport: Make
) -> None:
    url = f"{API}/v1/customers/c1/orders"
    mocked.post(url, body=requests.ReadTimeout("timed out"))
    mocked.post(url, status=201, json={"id": "order-1"})
    reply = make_transport().call(
        "POST", "/customers/c1/orders", body={"lineItems": []}, request_id="journalled-id"
    )
    assert reply.body == {"id": "order-1"}
    assert _sent_ids(mocked) == ["journalled-id", "journalled-id"]
    assert mocked.calls[0].request.body == mocked.calls[1].request.body


def test_write_whose_outcome_stays_unknown_raises_unknown_outcome(
    mocked: responses.RequestsMock, make_transport: Make
) -> None:
    url = f"{API}/v1/customers/c1/carts/k/checkout"
    mocked.post(url, body=requests.ReadTimeout("timed out"))
    mocked.post(url, status=504)
    mocked.post(url, status=502)
    with pytest.raises(api_errors.UnknownOutcome) as info:
        make_transport().call("POST", "/customers/c1/carts/k/checkout", request_id="rid-9")
    assert info.value.request_id == "rid-9"
    assert set(_sent_ids(mocked)) == {"rid-9"}
    assert len(mocked.calls) == 3
    assert "before sending it again" in str(info.value)


def test_write_that_never_left_the_machine_is_a_plain_failure_not_unknown(
    mocked: responses.RequestsMock, make_transport: Make
) -> None:
    mocked.post(f"{API}/v1/o", body=requests.ConnectTimeout("connect timeout"))
    with pytest.raises(api_errors.ApiServerError) as info:
        make_transport().call("POST", "/o", body={}, request_id="r")
    assert not isinstance(info.value, api_errors.UnknownOutcome)


def test_throttled_write_is_retried_with_the_same_request_id(
    mocked: responses.RequestsMock, make_transport: Make
) -> None:
    url = f"{API}/v1/o"
    mocked.post(url, status=429, headers={"Retry-After": "1"})
    mocked.post(url, status=201, json={"id": "o"})
    make_transport().call("POST", "/o", body={}, request_id="same")
    assert _sent_ids(mocked) == ["same", "same"]


def test_a_401_refreshes_the_token_once_and_retries(
    mocked: responses.RequestsMock, make_transport: Make, tokens: CountingTokens
) -> None:
    url = f"{API}/v1/customers"
    mocked.get(url, status=401)
    mocked.get(url, json={"items": []})
    make_transport().call("GET", "/customers")
    auths = [c.request.headers["Authorization"] for c in mocked.calls]
    assert auths == ["Bearer token-1", "Bearer token-2"]
    assert tokens.forced == 1


def test_a_second_401_is_an_auth_error(
    mocked: responses.RequestsMock, make_transport: Make
) -> None:
    mocked.get(f"{API}/v1/customers", status=401)
    with pytest.raises(api_errors.ApiAuthError):
        make_transport().call("GET", "/customers")
    assert len(mocked.calls) == 2


def test_every_call_carries_ids_token_and_explicit_verify(
    mocked: responses.RequestsMock, make_transport: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/somewhere/else.pem")
    mocked.get(f"{API}/v1/customers", json={"items": []})
    make_transport().call("GET", "/customers")
    call = mocked.calls[0]
    headers = call.request.headers
    assert headers["MS-RequestId"] and headers["MS-CorrelationId"]
    assert headers["MS-RequestId"] != headers["MS-CorrelationId"]
    assert headers["Accept"] == "application/json"
    assert call.request.req_kwargs["verify"] == "/configured/ca.pem"


def test_reads_get_a_fresh_request_id_per_logical_call(
    mocked: responses.RequestsMock, make_transport: Make
) -> None:
    mocked.get(f"{API}/v1/a", json={})
    t = make_transport()
    t.call("GET", "/a")
    t.call("GET", "/a")
    ids = _sent_ids(mocked)
    assert ids[0] != ids[1]
    assert len({c.request.headers["MS-CorrelationId"] for c in mocked.calls}) == 1


@pytest.mark.parametrize(
    ("link", "url"),
    [
        ("/customers/c1/subscriptions", f"{API}/v1/customers/c1/subscriptions"),
        ("/v1/offers?country=US", f"{API}/v1/offers?country=US"),
        ("customers?size=3", f"{API}/v1/customers?size=3"),
        ("/v1", f"{API}/v1"),
        ("/v1customers", f"{API}/v1/v1customers"),
        (f"{API}/v1/customers", f"{API}/v1/customers"),
    ],
)
def test_links_resolve_with_the_v1_rule(link: str, url: str) -> None:
    assert http.resolve_link(API + "/", link) == url


def test_absolute_links_to_other_hosts_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the API root"):
        http.resolve_link(API, "https://evil.example/v1/customers")


@given(
    st.lists(st.text(alphabet="abcdef0123-", min_size=1, max_size=8), min_size=1, max_size=4),
    st.booleans(),
)
def test_v1_appears_exactly_once_at_the_start(parts: list[str], with_v1: bool) -> None:
    path = "/" + "/".join(parts)
    url = http.resolve_link(API, ("/v1" + path) if with_v1 else path)
    assert url == f"{API}/v1{path}"


def test_verbose_log_has_ids_but_no_token(
    mocked: responses.RequestsMock, make_transport: Make, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.get(f"{API}/v1/customers", status=503)
    mocked.get(f"{API}/v1/customers", json={"items": []})
    with caplog.at_level(logging.DEBUG, logger="reconciler.partner_center"):
        make_transport().call("GET", "/customers")
    text = caplog.text
    assert "GET pc.test/v1/customers -> 503" in text and "-> 200" in text
    assert "MS-RequestId id-" in text and "retrying in" in text
    assert "token-1" not in text


def test_non_json_success_body_is_an_error_not_a_crash(
    mocked: responses.RequestsMock, make_transport: Make
) -> None:
    mocked.get(f"{API}/v1/customers", body="<html>proxy login</html>", status=200)
    with pytest.raises(api_errors.ApiServerError, match="not JSON"):
        make_transport().call("GET", "/customers")


def test_stats_summary_counts_requests_retries_and_throttling(
    mocked: responses.RequestsMock, make_transport: Make
) -> None:
    mocked.get(f"{API}/v1/a", status=429, headers={"Retry-After": "3"})
    mocked.get(f"{API}/v1/a", json={})
    t = make_transport()
    t.call("GET", "/a")
    assert t.stats.requests == 2 and t.stats.retries == 1
    assert t.stats.summary().startswith("2 requests, 1 retries, 1 throttled (waited 3.0s)")
