"""What a partner tenant's credentials are (the value types ``config`` resolves them into),
where they came from for messages, and the URL policy every configured endpoint follows.

Split from ``config`` (which resolves them from the environment, the credentials file and the
connection file) and re-exported there. This module must NOT read files or the environment,
nor ever put a secret into a message or a repr.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from reconciler import errors, settings


class CredentialKind(enum.StrEnum):
    SECRET = "client_secret"
    CERTIFICATE = "certificate"
    FEDERATED_TOKEN_FILE = "federated_token_file"
    GITHUB_OIDC = "github_oidc"
    AZURE_PIPELINES_OIDC = "azure_pipelines_service_connection"

    def describe(self) -> str:
        return {
            CredentialKind.SECRET: "client secret",
            CredentialKind.CERTIFICATE: "certificate",
            CredentialKind.FEDERATED_TOKEN_FILE: "federated token file",
            CredentialKind.GITHUB_OIDC: "GitHub Actions OIDC federation",
            CredentialKind.AZURE_PIPELINES_OIDC: "Azure Pipelines OIDC federation",
        }[self]


@dataclass(frozen=True, slots=True)
class GithubOidc:
    request_url: str
    request_token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class AzurePipelinesOidc:
    """Azure Pipelines' OIDC endpoint, the job's access token and the service connection."""

    request_uri: str
    service_connection_id: str
    access_token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class TenantCredentials:
    """The app-only credential of one partner tenant. Secrets are hidden from ``repr``."""

    name: str
    tenant_id: str
    client_id: str
    kind: CredentialKind
    client_secret: str | None = field(default=None, repr=False)
    certificate_path: str | None = None
    certificate_thumbprint: str | None = None
    federated_token_file: str | None = None
    github: GithubOidc | None = None
    azure_pipelines: AzurePipelinesOidc | None = None
    #: Where the credential and the client id came from, for messages: ``ENVIRONMENT``, "the
    #: [tenants.de] table of <file>", "the emulator's connection file <file>".
    source: str = ""
    client_id_source: str = ""


#: The ``source`` of a value read from environment variables.
ENVIRONMENT = "the environment"


def credential_origin(creds: TenantCredentials) -> str:
    """Where the failing values came from, for "check ..." hints: the variables when they came
    from the environment, else the file and table (never the values themselves)."""
    what = f"the client id and {creds.kind.describe()} of tenant '{creds.name}'"
    env = f"the environment ({variables_hint(creds.name, creds.kind)})"
    places = [
        env if p == ENVIRONMENT else p
        for p in dict.fromkeys(p for p in (creds.client_id_source, creds.source) if p)
    ]
    return f"{what}, set in {' and '.join(places) or 'the configuration'}"


@dataclass(frozen=True, slots=True)
class DelegatedCredentials:
    """Where the App+User sign-in of one tenant lives (``reconciler login``)."""

    name: str
    tenant_id: str
    public_client_id: str
    cache_path: Path

    @property
    def signed_in(self) -> bool:
        return self.cache_path.is_file()


@dataclass(frozen=True, slots=True)
class Connection:
    """Everything configured: endpoints, pacing, and per-tenant credentials."""

    endpoints: settings.Endpoints
    throughput: settings.Throughput
    tenants: Mapping[str, TenantCredentials]
    delegated: Mapping[str, DelegatedCredentials]


ADO_SUFFIX = settings.SUFFIX_AZURE_PIPELINES_SERVICE_CONNECTION


def variables_hint(tenant_name: str, kind: CredentialKind | None = None) -> str:
    """The variables that configure a tenant's credential, for error messages."""
    env = settings.tenant_env
    cid = env(tenant_name, settings.SUFFIX_CLIENT_ID)
    by_kind = {
        CredentialKind.SECRET: env(tenant_name, settings.SUFFIX_CLIENT_SECRET),
        CredentialKind.CERTIFICATE: f"{env(tenant_name, settings.SUFFIX_CERTIFICATE)} and "
        f"{env(tenant_name, settings.SUFFIX_CERTIFICATE_THUMBPRINT)}",
        CredentialKind.FEDERATED_TOKEN_FILE: env(tenant_name, settings.SUFFIX_FEDERATED_TOKEN_FILE),
        CredentialKind.GITHUB_OIDC: f"{env(tenant_name, settings.SUFFIX_GITHUB_OIDC)}=1 (in a "
        "GitHub Actions job with `permissions: id-token: write`)",
        CredentialKind.AZURE_PIPELINES_OIDC: f"{env(tenant_name, ADO_SUFFIX)}=CONNECTION_ID (in "
        "an Azure Pipelines job)",
    }
    if kind is not None:
        return f"{cid} and {by_kind[kind]}"
    return (
        f"{cid} and one of {by_kind[CredentialKind.SECRET]}, "
        f"{by_kind[CredentialKind.CERTIFICATE]}, "
        f"{by_kind[CredentialKind.FEDERATED_TOKEN_FILE]} or "
        f"{by_kind[CredentialKind.GITHUB_OIDC]}"
    )


# --------------------------------------------------------------------------------------------
# Resolution


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``: addresses that never leave the machine."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secure_url(url: str, where: str) -> str:
    """``url`` when it is https (or plain http to a loopback address, as tests use); else a
    ``ConfigError`` naming ``where`` it was set, showing the URL without its secrets."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    scheme = parts.scheme.lower() if parts else ""
    if (scheme == "https" and bool(host)) or (scheme == "http" and is_loopback(host)):
        return url
    raise errors.ConfigError(
        f"The URL {errors.redact(url)!r} ({where}) is not an https:// address; a token or "
        "credential sent to it could be read on the way. Set it to the https address (plain "
        "http is accepted only for localhost, 127.0.0.0/8 and ::1)."
    )
