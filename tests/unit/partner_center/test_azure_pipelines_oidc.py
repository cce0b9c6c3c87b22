"""Workload identity federation from Azure Pipelines: a fresh OIDC token for every sign-in."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import responses

from reconciler import errors, model
from reconciler.partner_center import auth, config, connect

DE = model.Tenant(
    name="de",
    tenant_id="0f6a1b8e-0000-4000-8000-0000000000de",
    country="DE",
    role=model.Role.SOURCE,
)
URI = "https://dev.azure.com/contoso/0d1f-project/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken"
CONNECTION = "6a1c0de0-0000-4000-8000-00000000a0d0"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "RECONCILER_CREDENTIALS_FILE": str(tmp_path / "none.toml"),
        "RECONCILER_TOKEN_CACHE_DIR": str(tmp_path / "tokens"),
        "RECONCILER_DE_CLIENT_ID": "apply-app",
        "RECONCILER_DE_AZURE_PIPELINES_SERVICE_CONNECTION": CONNECTION,
        **extra,
    }


def test_the_service_connection_in_the_environment_selects_azure_pipelines_oidc(tmp_path) -> None:
    env = _env(tmp_path, SYSTEM_OIDCREQUESTURI=URI, SYSTEM_ACCESSTOKEN="job-token-secret")
    creds = config.resolve([DE], environ=env).tenants["de"]
    assert creds.kind is config.CredentialKind.AZURE_PIPELINES_OIDC
    assert creds.azure_pipelines is not None
    assert creds.azure_pipelines.service_connection_id == CONNECTION
    assert "job-token-secret" not in repr(creds)


def test_outside_a_pipeline_job_the_error_says_what_to_map(tmp_path) -> None:
    with pytest.raises(errors.ConfigError) as info:
        config.resolve([DE], environ=_env(tmp_path, SYSTEM_OIDCREQUESTURI=URI))
    text = str(info.value)
    assert "'de'" in text and "SYSTEM_ACCESSTOKEN: $(System.AccessToken)" in text
    assert "\n" not in text


@responses.activate
def test_every_sign_in_asks_azure_pipelines_for_a_fresh_token(tmp_path) -> None:
    responses.post(URI, json={"oidcToken": "jwt-1"})
    responses.post(URI, json={"oidcToken": "jwt-2"})
    env = _env(tmp_path, SYSTEM_OIDCREQUESTURI=URI, SYSTEM_ACCESSTOKEN="job-token")
    creds = config.resolve([DE], environ=env).tenants["de"]
    endpoints = config.resolve([DE], environ=env).endpoints
    fetch = connect._assertion(creds, requests.Session(), endpoints)
    assert fetch is not None
    assert [fetch(), fetch()] == ["jwt-1", "jwt-2"]  # never a cached, expiring token
    assert len(responses.calls) == 2
    call = responses.calls[0].request
    assert call.headers["Authorization"] == "Bearer job-token"
    assert f"serviceConnectionId={CONNECTION}" in str(call.url) and "api-version=7.1" in str(
        call.url
    )
    assert auth.client_credential(creds, assertion=fetch) == {"client_assertion": fetch}


@responses.activate
def test_a_refused_token_request_is_a_plain_error_without_the_token() -> None:
    responses.post(URI, status=401)
    fetch = auth.azure_pipelines_oidc_assertion(
        URI, "job-token", CONNECTION, session=requests.Session(), verify=True
    )
    with pytest.raises(ValueError, match="returned HTTP 401") as info:
        fetch()
    assert "job-token" not in str(info.value)
