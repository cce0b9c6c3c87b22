"""Status and Partner Center code -> error class; messages are one paragraph without secrets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler import errors
from reconciler.partner_center import errors as api_errors


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, None, api_errors.ApiAuthError),
        (403, 20002, api_errors.ApiNoRelationship),
        (403, 900329, api_errors.ApiNeedsUser),
        (403, 900308, api_errors.ApiForbidden),
        (404, 20003, api_errors.ApiNotFound),
        (409, 800060, api_errors.ApiConflict),
        (412, 2055, api_errors.ApiConflict),
        (429, None, api_errors.ApiThrottled),
        (400, 800090, api_errors.ApiBusinessError),
        (400, 0, api_errors.ApiBusinessError),
        (417, 800036, api_errors.ApiBusinessError),
        (408, None, api_errors.ApiServerError),
        (500, None, api_errors.ApiServerError),
        (503, None, api_errors.ApiServerError),
    ],
)
def test_status_and_code_map_to_the_error_tree(
    status: int, code: int | None, expected: type[api_errors.ApiError]
) -> None:
    body = json.dumps({"code": code, "description": "x", "source": "PartnerFD"})
    err = api_errors.from_response(status, body, method="GET", path="/v1/customers/c")
    assert type(err) is expected
    assert isinstance(err, errors.ReconcilerError)
    assert err.status == status
    assert err.code == code


def test_code_given_as_string_is_read_as_number() -> None:
    err = api_errors.from_response(
        403,
        '{"code": "20002", "description": "no relationship"}',
        method="GET",
        path="/v1/customers/c",
    )
    assert isinstance(err, api_errors.ApiNoRelationship)
    assert err.code == 20002


def test_throttle_body_and_retry_after_are_read() -> None:
    body = '{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 57 seconds."}'
    err = api_errors.from_response(
        429, body, method="GET", path="/v1/customers", headers={"Retry-After": "57"}
    )
    assert isinstance(err, api_errors.ApiThrottled)
    assert err.retry_after == 57.0
    assert "Rate limit is exceeded" in str(err)


def test_message_names_call_tenant_code_and_request_id_in_one_paragraph() -> None:
    err = api_errors.from_response(
        404,
        '{"code": 20003, "description": "Subscription with ID abc not found."}',
        method="GET",
        path="/v1/customers/c/subscriptions/abc",
        request_id="rid-1",
        tenant="de",
    )
    text = str(err)
    assert "GET /v1/customers/c/subscriptions/abc" in text
    assert "'de'" in text and "HTTP 404" in text and "code 20003" in text and "rid-1" in text
    assert "\n" not in text


def test_non_json_and_empty_bodies_still_map() -> None:
    assert isinstance(
        api_errors.from_response(502, "<html>Bad gateway</html>", method="GET", path="/v1/x"),
        api_errors.ApiServerError,
    )
    err = api_errors.from_response(401, "", method="GET", path="/v1/x")
    assert isinstance(err, api_errors.ApiAuthError)
    assert err.code is None


def test_long_descriptions_are_truncated() -> None:
    body = json.dumps({"code": 3000, "description": "word " * 2000})
    err = api_errors.from_response(400, body, method="POST", path="/v1/x")
    assert len(err.description) <= api_errors.MAX_DESCRIPTION
    assert len(str(err)) < 800


@pytest.mark.parametrize(
    "leak",
    [
        "Bearer abc.def.ghi-secret",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "client_secret=hunter2-very-secret",
        '"access_token": "s3cr3t-value"',
        "refresh_token=0.AAAA-secret",
    ],
)
def test_secrets_in_bodies_never_reach_the_message(leak: str) -> None:
    body = json.dumps({"code": 0, "description": f"echo: {leak} end"})
    text = str(api_errors.from_response(400, body, method="POST", path="/v1/x"))
    secret = leak.rsplit(maxsplit=1)[-1].rsplit("=", maxsplit=1)[-1].strip('"')
    assert secret not in text
    assert "redacted" in text


@given(
    st.text(
        alphabet=st.characters(min_codepoint=48, max_codepoint=122), min_size=8, max_size=60
    ).filter(lambda s: s.isalnum())
)
def test_any_bearer_token_is_redacted(token: str) -> None:
    assert api_errors.redact(f"Bearer {token}") == "Bearer [redacted]"


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        (
            "GET https://alice:Pa55w0rd@pc.example/v1/x failed",
            "https://[redacted]@pc.example/v1/x",
            "Pa55w0rd",
        ),
        ("https://token-only@host.example/", "https://[redacted]@host.example/", "token-only"),
        (
            "blob https://acct.blob.example/c?sv=2024&sig=AbC%2Bd123&se=1",
            "sig=[redacted]&se=1",
            "AbC%2Bd123",
        ),
        (
            "/callback?state=s1&code=0.AXoA-auth-code#frag",
            "code=[redacted]#frag",
            "0.AXoA-auth-code",
        ),
        ("https://h.example/?client_secret=shh42&x=1", "x=1", "shh42"),
        ("https://h.example/?token=tok99", "https://h.example/?token=", "tok99"),
        ("https://h.example/?api_key=k3y", "api_key=[redacted]", "k3y"),
    ],
)
def test_urls_are_redacted_of_userinfo_and_query_secrets(text: str, kept: str, gone: str) -> None:
    out = errors.redact(text)
    assert kept in out and gone not in out


def test_redaction_keeps_what_is_not_a_secret() -> None:
    text = 'https://pc.example/v1/customers?size=500&offset=20 "code": 800060'
    assert errors.redact(text) == text
