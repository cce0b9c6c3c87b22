"""Configuration of the Partner Center connection: endpoints, CA, throughput and the credentials
of every partner tenant, from the environment, a credentials file outside the repository
(TOML) and the emulator's connection file (docs/configuration.md).

Precedence, highest first: environment, credentials file, connection file, built-in defaults.
For a tenant's credential the whole credential comes from the highest source that defines
one (a secret in the environment is never mixed with a certificate from a file).

This module must NOT do HTTP, acquire tokens, or ever put a secret into a message or a repr;
every problem is a one-paragraph ``ConfigError`` naming the tenant and what to set.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler import errors, model, settings
from reconciler.partner_center.configfiles import load_connection_file, load_credentials_file
from reconciler.partner_center.credentials import (
    ADO_SUFFIX,
    ENVIRONMENT,
    AzurePipelinesOidc,
    Connection,
    CredentialKind,
    DelegatedCredentials,
    GithubOidc,
    TenantCredentials,
    credential_origin,
    is_loopback,
    secure_url,
    variables_hint,
)

# The value types live in ``credentials``; callers and tests name them through ``config``.
__all__ = [
    "ADO_SUFFIX",
    "ENVIRONMENT",
    "AzurePipelinesOidc",
    "Connection",
    "CredentialKind",
    "DelegatedCredentials",
    "GithubOidc",
    "TenantCredentials",
    "credential_origin",
    "is_loopback",
    "resolve",
    "resolve_delegated",
    "secure_url",
    "tenant_id_hint",
    "variables_hint",
]


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _from_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise one source (env slice, TOML table, connection entry) to our field names."""
    keys = {
        "client_id": ("client_id", "clientId"),
        "client_secret": ("client_secret", "clientSecret"),
        "certificate": ("certificate", "certificate_path"),
        "certificate_thumbprint": ("certificate_thumbprint", "thumbprint"),
        "federated_token_file": ("federated_token_file",),
        "github_oidc": ("github_oidc",),
        "azure_pipelines_service_connection": ("azure_pipelines_service_connection",),
        "public_client_id": ("public_client_id", "publicClientId"),
        "tenant_id": ("tenant_id", "tenantId"),
    }
    out: dict[str, Any] = {}
    for name, spellings in keys.items():
        for spelling in spellings:
            value = values.get(spelling)
            if value not in (None, ""):
                out[name] = value
                break
    return out


def _env_slice(environ: Mapping[str, str], tenant: str) -> dict[str, Any]:
    suffixes = {
        "client_id": settings.SUFFIX_CLIENT_ID,
        "client_secret": settings.SUFFIX_CLIENT_SECRET,
        "certificate": settings.SUFFIX_CERTIFICATE,
        "certificate_thumbprint": settings.SUFFIX_CERTIFICATE_THUMBPRINT,
        "federated_token_file": settings.SUFFIX_FEDERATED_TOKEN_FILE,
        "github_oidc": settings.SUFFIX_GITHUB_OIDC,
        "azure_pipelines_service_connection": ADO_SUFFIX,
        "public_client_id": settings.SUFFIX_PUBLIC_CLIENT_ID,
        "tenant_id": settings.SUFFIX_TENANT_ID,
    }
    found = {k: environ.get(settings.tenant_env(tenant, s), "") for k, s in suffixes.items()}
    if "github_oidc" in found and not _truthy(found["github_oidc"]):
        found["github_oidc"] = ""
    return _from_mapping(found)


_CREDENTIAL_FIELDS = (
    "client_secret",
    "certificate",
    "federated_token_file",
    "github_oidc",
    "azure_pipelines_service_connection",
)


def _kind(values: Mapping[str, Any]) -> CredentialKind | None:
    if values.get("github_oidc") and _truthy(values["github_oidc"]):
        return CredentialKind.GITHUB_OIDC
    if values.get("azure_pipelines_service_connection"):
        return CredentialKind.AZURE_PIPELINES_OIDC
    if values.get("federated_token_file"):
        return CredentialKind.FEDERATED_TOKEN_FILE
    if values.get("certificate"):
        return CredentialKind.CERTIFICATE
    if values.get("client_secret"):
        return CredentialKind.SECRET
    return None


@dataclass(frozen=True, slots=True)
class _Sources:
    environ: Mapping[str, str]
    credentials: Mapping[str, Any]
    credentials_path: Path
    connection: Mapping[str, Any]
    connection_path: Path | None

    def layers(self, tenant: model.Tenant) -> list[tuple[str, dict[str, Any]]]:
        file_tenants = self.credentials.get("tenants", {})
        conn = next(
            (
                t
                for t in self.connection.get("tenants", [])
                if isinstance(t, dict)
                and (
                    t.get("name") == tenant.name
                    or str(t.get("tenantId", "")).lower() == tenant.tenant_id.lower()
                )
            ),
            {},
        )
        return [
            (ENVIRONMENT, _env_slice(self.environ, tenant.name)),
            (
                f"the [tenants.{tenant.name}] table of {self.credentials_path}",
                _from_mapping(file_tenants.get(tenant.name, {})),
            ),
            (f"the emulator's connection file {self.connection_path}", _from_mapping(conn)),
        ]

    def github(self) -> GithubOidc | None:
        url = self.environ.get(settings.ENV_GITHUB_REQUEST_URL, "")
        token = self.environ.get(settings.ENV_GITHUB_REQUEST_TOKEN, "")
        if url and token:
            return GithubOidc(secure_url(url, settings.ENV_GITHUB_REQUEST_URL), token)
        conn = self.connection.get("githubOidc") or {}
        if conn.get("requestUrl") and conn.get("requestToken"):
            where = f"githubOidc.requestUrl in the connection file {self.connection_path}"
            return GithubOidc(secure_url(str(conn["requestUrl"]), where), str(conn["requestToken"]))
        return None


def _tenant_credentials(tenant: model.Tenant, src: _Sources) -> TenantCredentials:
    layers = src.layers(tenant)
    client_id, id_source = next(
        ((v["client_id"], name) for name, v in layers if v.get("client_id")), (None, "")
    )
    chosen = next(((name, v) for name, v in layers if _kind(v) is not None), None)
    if client_id is None or chosen is None:
        missing = "client id" if client_id is None else "credential"
        raise errors.ConfigError(
            f"Partner tenant '{tenant.name}' ({tenant.tenant_id}) has no {missing} configured. "
            f"Set {variables_hint(tenant.name)} in the environment, or add a [tenants."
            f"{tenant.name}] table to the credentials file {src.credentials_path} "
            "(docs/configuration.md)."
        )
    source, values = chosen
    kind = _kind(values)
    assert kind is not None
    github = None
    if kind is CredentialKind.GITHUB_OIDC:
        github = src.github()
        if github is None:
            raise errors.ConfigError(
                f"Partner tenant '{tenant.name}' is set to use GitHub Actions OIDC, but "
                f"{settings.ENV_GITHUB_REQUEST_URL} and {settings.ENV_GITHUB_REQUEST_TOKEN} are "
                "not set: run inside a GitHub Actions job with `permissions: id-token: write`."
            )
    azure_pipelines = None
    if kind is CredentialKind.AZURE_PIPELINES_OIDC:
        uri = src.environ.get(settings.ENV_ADO_REQUEST_URI, "")
        token = src.environ.get(settings.ENV_ADO_ACCESS_TOKEN, "")
        if not (uri and token):
            raise errors.ConfigError(
                f"Partner tenant '{tenant.name}' is set to use Azure Pipelines OIDC, but "
                f"{settings.ENV_ADO_REQUEST_URI} and {settings.ENV_ADO_ACCESS_TOKEN} are not both "
                "set: run inside an Azure Pipelines job and map the job's token into the step "
                "(`env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)`)."
            )
        connection_id = str(values["azure_pipelines_service_connection"])
        azure_pipelines = AzurePipelinesOidc(uri, connection_id, token)
    return TenantCredentials(
        name=tenant.name,
        tenant_id=tenant.tenant_id,
        client_id=str(client_id),
        kind=kind,
        client_secret=values.get("client_secret"),
        certificate_path=values.get("certificate"),
        certificate_thumbprint=values.get("certificate_thumbprint"),
        federated_token_file=values.get("federated_token_file"),
        github=github,
        azure_pipelines=azure_pipelines,
        source=source,
        client_id_source=id_source,
    )


def _delegated(tenant: model.Tenant, src: _Sources, cache_dir: Path) -> DelegatedCredentials:
    layers = src.layers(tenant)
    public = next((v["public_client_id"] for _, v in layers if v.get("public_client_id")), None)
    client = next((v["client_id"] for _, v in layers if v.get("client_id")), "")
    return DelegatedCredentials(
        name=tenant.name,
        tenant_id=tenant.tenant_id,
        public_client_id=str(public or client),
        cache_path=cache_dir / f"{tenant.name}.json",
    )


#: Throughput settings: (field of ``settings.Throughput``, environment variable, key of the
#: credentials file's ``[throughput]`` table). The environment wins over the file.
_THROUGHPUT = (
    ("tenant_rate_per_minute", settings.ENV_RATE_PER_MINUTE, "rate_per_minute"),
    ("customer_rate_per_minute", settings.ENV_CUSTOMER_RATE_PER_MINUTE, "customer_rate_per_minute"),
    ("concurrency_per_tenant", settings.ENV_CONCURRENCY, "concurrency"),
    ("timeout_seconds", settings.ENV_TIMEOUT_SECONDS, "timeout_seconds"),
    ("retry_backoff_seconds", settings.ENV_RETRY_BACKOFF_SECONDS, "retry_backoff_seconds"),
    ("burst_seconds", settings.ENV_BURST_SECONDS, "burst_seconds"),
    ("order_list_lag_seconds", settings.ENV_ORDER_LIST_LAG_SECONDS, "order_list_lag_seconds"),
)


def _positive(raw: object, where: str, *, whole: bool) -> float:
    """``raw`` as a positive number (a whole one if ``whole``), else a ConfigError on ``where``."""
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value <= 0 or (whole and value != int(value)):
        kind = "a positive whole number" if whole else "a positive number"
        raise errors.ConfigError(f"{where} is not {kind}; fix or unset it (docs/configuration.md).")
    return value


def _throughput(src: _Sources) -> settings.Throughput:
    table = src.credentials.get("throughput", {})
    place = f"the [throughput] table of {src.credentials_path}"
    known = {key for _, _, key in _THROUGHPUT}
    if not isinstance(table, dict) or set(table) - known:
        raise errors.ConfigError(
            f"{place.capitalize()} may only set {', '.join(sorted(known))} "
            f"(found: {', '.join(sorted(table)) if isinstance(table, dict) else table!r})."
        )
    values: dict[str, Any] = {}
    for name, env_name, key in _THROUGHPUT:
        whole = name == "concurrency_per_tenant"
        raw = src.environ.get(env_name, "").strip()
        if raw:
            value = _positive(raw, f"{env_name}={raw!r}", whole=whole)
        elif key in table:
            value = _positive(table[key], f"{key} = {table[key]!r} in {place}", whole=whole)
        else:
            continue
        if name == "burst_seconds" and value > MAX_BURST_SECONDS:
            where = env_name if raw else f"burst_seconds in {place}"
            raise errors.ConfigError(
                f"{where} is {value:g}: at most {MAX_BURST_SECONDS:g} seconds of a minute's "
                "budget can be sent at once; lower it (docs/configuration.md)."
            )
        values[name] = int(value) if whole else value
    return settings.Throughput(**values)


#: The budget is per minute: a burst of more than a minute's requests is never allowed.
MAX_BURST_SECONDS = 60.0


def _endpoints(src: _Sources) -> settings.Endpoints:
    env, file, conn = src.environ, src.credentials.get("endpoints", {}), src.connection

    def pick(env_name: str, file_key: str, conn_key: str, default: str | None) -> str | None:
        return (env.get(env_name) or file.get(file_key) or conn.get(conn_key) or default) or None

    def origin(env_name: str, file_key: str, conn_key: str) -> str:
        if env.get(env_name):
            return env_name
        if file.get(file_key):
            return f"{file_key} in the [endpoints] table of {src.credentials_path}"
        return f"{conn_key} in the emulator's connection file {src.connection_path}"

    api = pick(settings.ENV_API_ROOT, "api_root", "apiRoot", settings.DEFAULT_API_ROOT)
    auth = pick(
        settings.ENV_AUTHORITY_HOST,
        "authority_host",
        "authorityHost",
        settings.DEFAULT_AUTHORITY_HOST,
    )
    ca = pick(settings.ENV_CA_BUNDLE, "ca_bundle", "caBundle", None)
    for what, url in (("API root", api), ("authority host", auth)):
        if not isinstance(url, str) or not url.startswith("https://"):
            raise errors.ConfigError(
                f"The {what} {errors.redact(str(url))!r} is not an https:// URL; set "
                f"{settings.ENV_API_ROOT} / "
                f"{settings.ENV_AUTHORITY_HOST} to the https address of Partner Center."
            )
    if ca is not None and not Path(ca).expanduser().is_file():
        raise errors.ConfigError(
            f"The CA bundle {ca} does not exist; set {settings.ENV_CA_BUNDLE} to a PEM file."
        )
    return settings.Endpoints(
        api_root=str(api).rstrip("/"),
        authority_host=str(auth).rstrip("/"),
        ca_bundle=str(Path(ca).expanduser()) if ca else None,
        ca_bundle_source=origin(settings.ENV_CA_BUNDLE, "ca_bundle", "caBundle") if ca else "",
    )


def _sources(
    environ: Mapping[str, str] | None,
    credentials_path: str | Path | None,
    connection_path: str | Path | None,
) -> tuple[_Sources, Path]:
    """The configuration sources and the token cache directory, per the precedence rules."""
    env = os.environ if environ is None else environ
    cred_path = Path(
        credentials_path
        or env.get(settings.ENV_CREDENTIALS_FILE)
        or settings.DEFAULT_CREDENTIALS_FILE
    ).expanduser()
    conn_raw = connection_path or env.get(settings.ENV_CONNECTION_FILE)
    conn_path = Path(conn_raw).expanduser() if conn_raw else None
    src = _Sources(
        environ=env,
        credentials=load_credentials_file(cred_path),
        credentials_path=cred_path,
        connection=load_connection_file(conn_path) if conn_path else {},
        connection_path=conn_path,
    )
    cache_dir = Path(
        env.get(settings.ENV_TOKEN_CACHE_DIR) or settings.DEFAULT_TOKEN_CACHE_DIR
    ).expanduser()
    return src, cache_dir


def resolve(
    tenants: Iterable[model.Tenant],
    *,
    environ: Mapping[str, str] | None = None,
    credentials_path: str | Path | None = None,
    connection_path: str | Path | None = None,
) -> Connection:
    """Resolve endpoints and every tenant's credentials; raise ``ConfigError`` on problems.

    ``credentials_path`` and ``connection_path`` are the ``--credentials`` / ``--connection``
    options; unset, they fall back to their environment variables and defaults.
    """
    src, cache_dir = _sources(environ, credentials_path, connection_path)
    tenant_list = list(tenants)
    return Connection(
        endpoints=_endpoints(src),
        throughput=_throughput(src),
        tenants={t.name: _tenant_credentials(t, src) for t in tenant_list},
        delegated={t.name: _delegated(t, src, cache_dir) for t in tenant_list},
    )


def resolve_delegated(
    tenant: model.Tenant,
    *,
    environ: Mapping[str, str] | None = None,
    credentials_path: str | Path | None = None,
    connection_path: str | Path | None = None,
) -> tuple[settings.Endpoints, DelegatedCredentials]:
    """Endpoints and the App+User sign-in settings of one tenant, for ``reconciler login``
    (no app-only credential needed)."""
    src, cache_dir = _sources(environ, credentials_path, connection_path)
    delegated = _delegated(tenant, src, cache_dir)
    if not delegated.public_client_id:
        raise errors.ConfigError(
            f"Partner tenant '{tenant.name}' has no client id for a delegated sign-in: set "
            f"{settings.tenant_env(tenant.name, settings.SUFFIX_PUBLIC_CLIENT_ID)} (a public "
            "client app registration with the Partner Center user_impersonation permission) "
            f"or {settings.tenant_env(tenant.name, settings.SUFFIX_CLIENT_ID)}."
        )
    return _endpoints(src), delegated


def tenant_id_hint(
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    credentials_path: str | Path | None = None,
    connection_path: str | Path | None = None,
) -> str | None:
    """A tenant's id from the environment, the credentials file or the connection file."""
    src, _ = _sources(environ, credentials_path, connection_path)
    probe = model.Tenant(name=name, tenant_id="", country="", role=model.Role.SOURCE)
    found = next((v["tenant_id"] for _, v in src.layers(probe) if v.get("tenant_id")), None)
    return str(found).lower() if found else None
