"""Configuration: where credentials and endpoints come from, and the messages when they don't."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler import errors, model
from reconciler.partner_center import config

DE = model.Tenant(
    name="de",
    tenant_id="0f6a1b8e-0000-4000-8000-0000000000de",
    country="DE",
    role=model.Role.SOURCE,
)
CENTRAL = model.Tenant(
    name="central",
    tenant_id="0f6a1b8e-0000-4000-8000-000000000001",
    country="IE",
    role=model.Role.TARGET,
)


def _resolve(env: dict[str, str], tmp_path: Path, **kw: object) -> config.Connection:
    env = {
        "RECONCILER_CREDENTIALS_FILE": str(tmp_path / "none.toml"),
        "RECONCILER_TOKEN_CACHE_DIR": str(tmp_path / "tokens"),
        **env,
    }
    return config.resolve([DE], environ=env, **kw)  # type: ignore[arg-type]


def test_secret_from_the_environment(tmp_path: Path) -> None:
    conn = _resolve(
        {"RECONCILER_DE_CLIENT_ID": "app", "RECONCILER_DE_CLIENT_SECRET": "s3cret"}, tmp_path
    )
    creds = conn.tenants["de"]
    assert creds.kind is config.CredentialKind.SECRET
    assert creds.client_id == "app" and creds.client_secret == "s3cret"
    assert creds.tenant_id == DE.tenant_id
    assert "s3cret" not in repr(creds) and "s3cret" not in repr(conn)
    assert conn.endpoints.api_root == "https://api.partnercenter.microsoft.com"
    assert conn.endpoints.authority_host == "https://login.microsoftonline.com"
    assert conn.endpoints.verify is True


def test_missing_credential_names_the_tenant_and_the_variables(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError) as info:
        _resolve({"RECONCILER_DE_CLIENT_ID": "app"}, tmp_path)
    text = str(info.value)
    assert "'de'" in text and DE.tenant_id in text
    assert "RECONCILER_DE_CLIENT_SECRET" in text and "RECONCILER_DE_CERTIFICATE" in text
    assert "RECONCILER_DE_FEDERATED_TOKEN_FILE" in text and "RECONCILER_DE_GITHUB_OIDC" in text
    assert "\n" not in text


def test_credentials_file_and_environment_precedence(tmp_path: Path) -> None:
    cred = tmp_path / "credentials.toml"
    cred.write_text(
        '[endpoints]\napi_root = "https://file.example"\n'
        '[tenants.de]\nclient_id = "file-app"\ncertificate = "/keys/de.pem"\n'
        'certificate_thumbprint = "AB:CD"\n',
        encoding="utf-8",
    )
    cred.chmod(0o600)  # a credentials file others may read is refused
    conn = _resolve({}, tmp_path, credentials_path=cred)
    creds = conn.tenants["de"]
    assert creds.kind is config.CredentialKind.CERTIFICATE
    assert creds.certificate_path == "/keys/de.pem" and creds.client_id == "file-app"
    assert conn.endpoints.api_root == "https://file.example"
    # The environment wins, and a whole credential comes from one place.
    conn = _resolve(
        {
            "RECONCILER_DE_CLIENT_SECRET": "env-secret",
            "RECONCILER_API_ROOT": "https://env.example/",
        },
        tmp_path,
        credentials_path=cred,
    )
    creds = conn.tenants["de"]
    assert creds.kind is config.CredentialKind.SECRET and creds.certificate_path is None
    assert creds.client_id == "file-app"
    assert conn.endpoints.api_root == "https://env.example"


def test_broken_credentials_file_is_a_config_error(tmp_path: Path) -> None:
    cred = tmp_path / "c.toml"
    cred.write_text("[tenants.de\n", encoding="utf-8")
    cred.chmod(0o600)
    with pytest.raises(errors.ConfigError, match=r"c\.toml cannot be read"):
        _resolve({}, tmp_path, credentials_path=cred)


def test_connection_file_supplies_endpoints_and_credentials(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x", encoding="utf-8")
    conn_file = tmp_path / "conn.json"
    conn_file.write_text(
        json.dumps(
            {
                "format": "reconciler-emulator-connection/1",
                "apiRoot": "https://127.0.0.1:9",
                "authorityHost": "https://127.0.0.1:9",
                "caBundle": str(ca),
                "githubOidc": {
                    "requestUrl": "https://127.0.0.1:9/_emulator/github-oidc",
                    "requestToken": "gh-tok",
                },
                "tenants": [
                    {
                        "name": "de",
                        "tenantId": DE.tenant_id,
                        "clientId": "emu-app",
                        "clientSecret": "emu-secret",
                        "publicClientId": "emu-public",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    conn = _resolve({"RECONCILER_CONNECTION_FILE": str(conn_file)}, tmp_path)
    assert conn.endpoints.api_root == "https://127.0.0.1:9"
    assert conn.endpoints.verify == str(ca)
    assert conn.tenants["de"].client_secret == "emu-secret"
    assert conn.delegated["de"].public_client_id == "emu-public"
    assert conn.delegated["de"].cache_path == tmp_path / "tokens" / "de.json"
    # GitHub OIDC requested in the environment uses the connection file's stand-in.
    conn = _resolve({"RECONCILER_DE_GITHUB_OIDC": "1"}, tmp_path, connection_path=conn_file)
    creds = conn.tenants["de"]
    assert creds.kind is config.CredentialKind.GITHUB_OIDC and creds.client_id == "emu-app"
    assert creds.github is not None and creds.github.request_token == "gh-tok"
    assert "gh-tok" not in repr(creds)


def test_github_oidc_outside_actions_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError, match="ACTIONS_ID_TOKEN_REQUEST_URL"):
        _resolve({"RECONCILER_DE_CLIENT_ID": "a", "RECONCILER_DE_GITHUB_OIDC": "1"}, tmp_path)


def test_wrong_connection_file_format(tmp_path: Path) -> None:
    bad = tmp_path / "c.json"
    bad.write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(errors.ConfigError, match="not a reconciler emulator connection file"):
        _resolve({}, tmp_path, connection_path=bad)


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"RECONCILER_API_ROOT": "http://plain.example"}, "not an https"),
        ({"RECONCILER_CA_BUNDLE": "/no/such/ca.pem"}, "does not exist"),
        ({"RECONCILER_RATE_PER_MINUTE": "fast"}, "not a positive number"),
    ],
)
def test_bad_endpoint_settings_are_refused(tmp_path: Path, env: dict[str, str], match: str) -> None:
    base = {"RECONCILER_DE_CLIENT_ID": "a", "RECONCILER_DE_CLIENT_SECRET": "b"}
    with pytest.raises(errors.ConfigError, match=match):
        _resolve({**base, **env}, tmp_path)


def test_throughput_from_the_environment(tmp_path: Path) -> None:
    conn = _resolve(
        {
            "RECONCILER_DE_CLIENT_ID": "a",
            "RECONCILER_DE_CLIENT_SECRET": "b",
            "RECONCILER_RATE_PER_MINUTE": "100",
            "RECONCILER_CONCURRENCY": "3",
        },
        tmp_path,
    )
    assert conn.throughput.tenant_rate_per_minute == 100
    assert conn.throughput.concurrency_per_tenant == 3


def test_tenant_names_become_variable_names() -> None:
    from reconciler import settings

    assert settings.tenant_env("de", "CLIENT_ID") == "RECONCILER_DE_CLIENT_ID"
    assert (
        settings.tenant_env("emea-north", "CLIENT_SECRET") == "RECONCILER_EMEA_NORTH_CLIENT_SECRET"
    )


# -- throughput: timeout, back-off, pacing, concurrency (plan and apply read the same) --------

_CREDS = {"RECONCILER_DE_CLIENT_ID": "a", "RECONCILER_DE_CLIENT_SECRET": "b"}


def test_timeout_and_backoff_defaults(tmp_path: Path) -> None:
    pace = _resolve(_CREDS, tmp_path).throughput
    assert pace.timeout_seconds == 30.0 and pace.retry_backoff_seconds == 1.0
    assert pace.concurrency_per_tenant == 8 and pace.tenant_rate_per_minute == 480


def test_timeout_and_backoff_from_the_environment_reach_the_clients(tmp_path: Path) -> None:
    from reconciler.partner_center import connect

    env = {
        **_CREDS,
        "RECONCILER_TIMEOUT_SECONDS": "12.5",
        "RECONCILER_RETRY_BACKOFF_SECONDS": "0.25",
    }
    conn = _resolve(env, tmp_path)
    assert conn.throughput.timeout_seconds == 12.5
    assert conn.throughput.retry_backoff_seconds == 0.25
    transport = connect.build_clients([DE], conn)["de"].transport
    assert transport.timeout == 12.5
    assert transport.policy.backoff_base == 0.25 and transport.policy.backoff_max == 15.0


def test_the_order_list_lag_defaults_to_15_minutes_and_is_set_like_the_others(
    tmp_path: Path,
) -> None:
    from reconciler.partner_center import connect

    assert _resolve(_CREDS, tmp_path).throughput.order_list_lag_seconds == 900.0
    conn = _resolve({**_CREDS, "RECONCILER_ORDER_LIST_LAG_SECONDS": "60"}, tmp_path)
    assert connect.build_clients([DE], conn)["de"].order_list_lag == 60.0
    path = tmp_path / "credentials.toml"
    path.write_text("[throughput]\norder_list_lag_seconds = 1200\n", encoding="utf-8")
    path.chmod(0o600)
    env = {**_CREDS, "RECONCILER_CREDENTIALS_FILE": str(path)}
    assert _resolve(env, tmp_path).throughput.order_list_lag_seconds == 1200.0


def test_throughput_table_of_the_credentials_file_and_environment_precedence(
    tmp_path: Path,
) -> None:
    path = tmp_path / "credentials.toml"
    path.write_text(
        "[throughput]\nrate_per_minute = 200\ncustomer_rate_per_minute = 30\nconcurrency = 4\n"
        "timeout_seconds = 45\nretry_backoff_seconds = 2\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    pace = _resolve({**_CREDS, "RECONCILER_CREDENTIALS_FILE": str(path)}, tmp_path).throughput
    assert (pace.tenant_rate_per_minute, pace.customer_rate_per_minute) == (200, 30)
    assert (pace.concurrency_per_tenant, pace.timeout_seconds) == (4, 45)
    assert pace.retry_backoff_seconds == 2
    env = {**_CREDS, "RECONCILER_CREDENTIALS_FILE": str(path), "RECONCILER_TIMEOUT_SECONDS": "5"}
    assert _resolve(env, tmp_path).throughput.timeout_seconds == 5  # the environment wins


def test_a_misspelt_throughput_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "credentials.toml"
    path.write_text("[throughput]\nconcurency = 4\n", encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(errors.ConfigError, match="concurency") as info:
        _resolve({**_CREDS, "RECONCILER_CREDENTIALS_FILE": str(path)}, tmp_path)
    assert "concurrency" in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("RECONCILER_TIMEOUT_SECONDS", "0"),
        ("RECONCILER_TIMEOUT_SECONDS", "-3"),
        ("RECONCILER_TIMEOUT_SECONDS", "nan"),
        ("RECONCILER_RETRY_BACKOFF_SECONDS", "inf"),
        ("RECONCILER_RETRY_BACKOFF_SECONDS", "fast"),
        ("RECONCILER_CONCURRENCY", "2.5"),
        ("RECONCILER_RATE_PER_MINUTE", "0"),
    ],
)
def test_bad_throughput_values_name_the_variable(tmp_path: Path, name: str, raw: str) -> None:
    with pytest.raises(errors.ConfigError) as info:
        _resolve({**_CREDS, name: raw}, tmp_path)
    text = str(info.value)
    assert f"{name}={raw!r}" in text and "docs/configuration.md" in text and "\n" not in text


@given(value=st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False))
def test_any_positive_timeout_or_backoff_is_taken_as_written(value: float) -> None:
    env = {
        **_CREDS,
        "RECONCILER_CREDENTIALS_FILE": "/nonexistent/credentials.toml",
        "RECONCILER_TIMEOUT_SECONDS": repr(value),
        "RECONCILER_RETRY_BACKOFF_SECONDS": repr(value),
    }
    pace = config.resolve([DE], environ=env).throughput
    assert pace.timeout_seconds == value and pace.retry_backoff_seconds == value


_OIDC = {
    "RECONCILER_DE_CLIENT_ID": "app",
    "RECONCILER_DE_GITHUB_OIDC": "true",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req-token-value",
}


@pytest.mark.parametrize(
    "url",
    [
        "http://token.actions.example/idtoken?api-version=2.0",
        "http://10.0.0.8/x",
        "ftp://token.actions.example/",
        "https:///no-host",
    ],
)
def test_a_github_oidc_request_url_that_is_not_https_is_refused_before_any_request(
    url: str, tmp_path: Path
) -> None:
    with pytest.raises(errors.ConfigError) as info:
        _resolve({**_OIDC, "ACTIONS_ID_TOKEN_REQUEST_URL": url}, tmp_path)
    text = str(info.value)
    assert "ACTIONS_ID_TOKEN_REQUEST_URL" in text and "not an https:// address" in text
    assert "req-token-value" not in text


@pytest.mark.parametrize(
    "url",
    [
        "https://token.actions.example/idtoken",
        "http://127.0.0.1:8080/oidc",
        "http://127.3.4.5/oidc",
        "http://[::1]:9/oidc",
        "http://localhost:9/oidc",
    ],
)
def test_a_github_oidc_request_url_over_https_or_loopback_is_used(url: str, tmp_path: Path) -> None:
    creds = _resolve({**_OIDC, "ACTIONS_ID_TOKEN_REQUEST_URL": url}, tmp_path).tenants["de"]
    assert creds.github is not None and creds.github.request_url == url


def test_a_password_in_a_refused_endpoint_is_not_shown(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError) as info:
        _resolve(
            {**_CREDS, "RECONCILER_AUTHORITY_HOST": "http://u:Secr3tPw@login.example/?code=abc1"},
            tmp_path,
        )
    assert "Secr3tPw" not in str(info.value) and "abc1" not in str(info.value)
    assert "login.example" in str(info.value)
