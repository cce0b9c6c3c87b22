"""Client assertions for workload identity federation, fetched fresh for every token request:
GitHub Actions OIDC, Azure Pipelines OIDC and a federated token file. MSAL calls the returned
function each time it needs a token (the assertions live minutes).

Split from ``auth`` (which wires them into MSAL) and re-exported there. This module must NOT
log or put into any message an assertion or request token.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests

from reconciler import settings
from reconciler.partner_center import bodies


def github_oidc_assertion(
    request_url: str,
    request_token: str,
    *,
    session: requests.Session,
    verify: str | bool,
    timeout: float = 30.0,
    audience: str = settings.GITHUB_OIDC_AUDIENCE,
) -> Callable[[], str]:
    """A callable that fetches a fresh GitHub Actions OIDC token (a JWT) on every call."""
    sep = "&" if "?" in request_url else "?"
    url = f"{request_url}{sep}audience={audience}"

    def fetch() -> str:
        try:
            resp = session.get(
                url,
                headers={"Authorization": f"bearer {request_token}"},
                timeout=timeout,
                verify=verify,
            )
        except requests.RequestException as exc:
            raise ValueError(f"GitHub OIDC token request failed ({type(exc).__name__})") from None
        if resp.status_code != 200:
            raise ValueError(f"GitHub OIDC token request returned HTTP {resp.status_code}")
        try:
            return str(bodies.tolerate_bom(resp).json()["value"])
        except (ValueError, KeyError, TypeError):
            raise ValueError("GitHub OIDC token response has no 'value'") from None

    return fetch


def azure_pipelines_oidc_assertion(
    request_uri: str,
    access_token: str,
    service_connection_id: str,
    *,
    session: requests.Session,
    verify: str | bool,
    timeout: float = 30.0,
) -> Callable[[], str]:
    """A callable that asks Azure Pipelines for a fresh OIDC token (a JWT) on every call.

    ``POST {System.OidcRequestUri}?api-version=7.1&serviceConnectionId=ID`` with the job's
    access token; the answer is ``{"oidcToken": "..."}``. Its subject is the service
    connection's (``sc://ORG/PROJECT/CONNECTION``), which the app's federated credential trusts.
    """
    sep = "&" if "?" in request_uri else "?"
    url = (
        f"{request_uri}{sep}api-version={settings.ADO_OIDC_API_VERSION}"
        f"&serviceConnectionId={service_connection_id}"
    )

    def fetch() -> str:
        try:
            resp = session.post(
                url,
                headers={
                    "Authorization": f"Bearer {access_token}",
                    "Content-Type": "application/json",
                },
                timeout=timeout,
                verify=verify,
            )
        except requests.RequestException as exc:
            raise ValueError(
                f"Azure Pipelines OIDC token request failed ({type(exc).__name__})"
            ) from None
        if resp.status_code != 200:
            raise ValueError(f"Azure Pipelines OIDC token request returned HTTP {resp.status_code}")
        try:
            return str(bodies.tolerate_bom(resp).json()["oidcToken"])
        except (ValueError, KeyError, TypeError):
            raise ValueError("Azure Pipelines OIDC token response has no 'oidcToken'") from None

    return fetch


def federated_file_assertion(path: str) -> Callable[[], str]:
    """A callable that reads the federated token file afresh on every call (it rotates)."""

    def read() -> str:
        try:
            return Path(path).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(
                f"cannot read the federated token file {path}: {exc.strerror}"
            ) from None

    return read


# --------------------------------------------------------------------------------------------
# Delegated (App+User): token cache file and device-code sign-in
