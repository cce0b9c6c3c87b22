"""Wiring: clients built from configuration fetch app-only tokens through MSAL (with the
configured CA passed explicitly), once, and send them to Partner Center."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses

from reconciler import errors, model
from reconciler.partner_center import config, connect

AUTH = "https://login.test"
API = "https://pc.test"
TENANT = model.Tenant("de", "tid-de", "DE", model.Role.SOURCE)


def _openid(mocked: responses.RequestsMock) -> None:
    base = f"{AUTH}/tid-de"
    mocked.get(
        f"{base}/v2.0/.well-known/openid-configuration",
        json={
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "issuer": f"{AUTH}/tid-de/v2.0",
        },
    )


def _connection(tmp_path: Path, **env: str) -> config.Connection:
    ca = tmp_path / "ca.pem"
    ca.write_text("ca", encoding="utf-8")
    base = {
        "RECONCILER_API_ROOT": API,
        "RECONCILER_AUTHORITY_HOST": AUTH,
        "RECONCILER_CA_BUNDLE": str(ca),
        "RECONCILER_DE_CLIENT_ID": "app-de",
        "RECONCILER_CREDENTIALS_FILE": str(tmp_path / "none.toml"),
    }
    return config.resolve([TENANT], environ={**base, **env})


def test_client_secret_token_is_fetched_once_and_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/not/the/configured/ca.pem")
    conn = _connection(tmp_path, RECONCILER_DE_CLIENT_SECRET="s3cret-value")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        _openid(mocked)
        mocked.post(
            f"{AUTH}/tid-de/oauth2/v2.0/token",
            json={"token_type": "Bearer", "expires_in": 3600, "access_token": "at-1"},
        )
        mocked.get(f"{API}/v1/customers/c1", json={"id": "c1"})
        client = connect.build_clients([TENANT], conn)["de"]
        client.get_customer("c1")
        client.get_customer("c1")
        token_posts = [c for c in mocked.calls if c.request.url.endswith("/token")]
        assert len(token_posts) == 1
        form = parse_qs(str(token_posts[0].request.body))
        assert form["client_id"] == ["app-de"] and form["client_secret"] == ["s3cret-value"]
        assert form["scope"][0].startswith("https://api.partnercenter.microsoft.com/.default")
        api_calls = [c for c in mocked.calls if c.request.url.startswith(API)]
        assert all(c.request.headers["Authorization"] == "Bearer at-1" for c in api_calls)
        assert {c.request.req_kwargs["verify"] for c in mocked.calls} == {str(tmp_path / "ca.pem")}


def test_refused_credential_is_a_config_error_naming_tenant_and_variables(
    tmp_path: Path,
) -> None:
    conn = _connection(tmp_path, RECONCILER_DE_CLIENT_SECRET="wrong-s3cret")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        _openid(mocked)
        mocked.post(
            f"{AUTH}/tid-de/oauth2/v2.0/token",
            status=401,
            json={
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            },
        )
        client = connect.build_clients([TENANT], conn)["de"]
        with pytest.raises(errors.ConfigError) as info:
            client.get_customer("c1")
    text = str(info.value)
    assert "'de'" in text and "RECONCILER_DE_CLIENT_SECRET" in text
    assert "invalid_client" in text and "wrong-s3cret" not in text


def test_federated_token_file_is_read_for_every_token_request(tmp_path: Path) -> None:
    token_file = tmp_path / "fed.jwt"
    token_file.write_text("assertion-1\n", encoding="utf-8")
    conn = _connection(tmp_path, RECONCILER_DE_FEDERATED_TOKEN_FILE=str(token_file))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        _openid(mocked)
        mocked.post(
            f"{AUTH}/tid-de/oauth2/v2.0/token",
            json={"token_type": "Bearer", "expires_in": 3600, "access_token": "at-1"},
        )
        mocked.get(f"{API}/v1/customers/c1", status=401)
        client = connect.build_clients([TENANT], conn)["de"]
        client.transport.tokens.token()
        token_file.write_text("assertion-2\n", encoding="utf-8")
        client.transport.tokens.token(force_refresh=True)
        posts = [
            parse_qs(str(c.request.body)) for c in mocked.calls if c.request.url.endswith("/token")
        ]
    assert [p["client_assertion"] for p in posts] == [["assertion-1"], ["assertion-2"]]
    assert posts[0]["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
