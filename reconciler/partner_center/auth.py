"""Bearer tokens for Partner Center: MSAL flows per credential type, cached and refreshed
before expiry, with MSAL's own HTTP going through a client whose CA trust we set.

- App-only: client secret, certificate (PEM + thumbprint), or a client assertion fetched fresh
  for every token request (a federated token file, or GitHub Actions OIDC whose tokens live
  about five minutes), via MSAL's callable ``client_assertion``.
- App+User (delegated): a refresh token in an MSAL ``SerializableTokenCache`` file (0600),
  written by ``reconciler login`` (device-code flow).

This module must NOT log or put into any message a secret, assertion or token, and must not
decide retries of API calls (``http`` does).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import msal
import requests

from reconciler import errors, files, settings
from reconciler.partner_center import certificates
from reconciler.partner_center import config as pc_config
from reconciler.partner_center import errors as api_errors
from reconciler.partner_center.assertions import (
    azure_pipelines_oidc_assertion,
    federated_file_assertion,
    github_oidc_assertion,
)
from reconciler.partner_center.msalhttp import MsalHttpClient

# The assertion builders live in ``assertions``; callers and tests name them through ``auth``.
__all__ = [
    "Acquired",
    "CachingTokenProvider",
    "MsalHttpClient",
    "StaticTokenProvider",
    "TokenProvider",
    "azure_pipelines_oidc_assertion",
    "confidential_acquirer",
    "delegated_acquirer",
    "device_code_login",
    "federated_file_assertion",
    "github_oidc_assertion",
    "load_token_cache",
    "public_app",
    "save_token_cache",
]

#: Authority hosts MSAL knows; any other host (the emulator, a private cloud) is used as-is.
KNOWN_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)
#: Refresh this many seconds before a token expires.
REFRESH_MARGIN_SECONDS = 300.0


class TokenProvider(Protocol):
    """Something that hands out a bearer token for one partner tenant."""

    def token(self, *, force_refresh: bool = False) -> str:
        """A valid access token; ``force_refresh`` discards any cached one (after a 401)."""
        ...


@dataclass(frozen=True, slots=True)
class Acquired:
    access_token: str
    expires_in: float

    def __repr__(self) -> str:  # never show the token, even in a debugger or traceback
        return f"Acquired(access_token=[redacted], expires_in={self.expires_in})"


class CachingTokenProvider:
    """Caches what ``acquire(force_refresh)`` returns until ``margin`` seconds before expiry."""

    def __init__(
        self,
        acquire: Callable[[bool], Acquired],
        *,
        clock: Callable[[], float] = time.monotonic,
        margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self._acquire = acquire
        self._clock = clock
        self._margin = margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        #: How many tokens were fetched (for stats and tests).
        self.fetches = 0

    def token(self, *, force_refresh: bool = False) -> str:
        """See ``TokenProvider.token``."""
        with self._lock:
            now = self._clock()
            fresh = self._token is not None and now < self._expires_at - self._margin
            if fresh and not force_refresh:
                assert self._token is not None
                return self._token
            got = self._acquire(force_refresh)
            self.fetches += 1
            self._token = got.access_token
            self._expires_at = now + got.expires_in
            return got.access_token


class StaticTokenProvider:
    """A fixed token (tests, or a token handed in by an outer system)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def token(self, *, force_refresh: bool = False) -> str:
        """See ``TokenProvider.token``."""
        return self._value


def authority_url(endpoints: settings.Endpoints, tenant_id: str) -> str:
    return f"{endpoints.authority_host.rstrip('/')}/{tenant_id}"


def _instance_discovery(endpoints: settings.Endpoints) -> bool | None:
    host = urlsplit(endpoints.authority_host).hostname or ""
    return None if host in KNOWN_AUTHORITY_HOSTS else False


def _credential_failure(creds: pc_config.TenantCredentials, detail: str) -> errors.SignInError:
    return errors.SignInError(
        f"Could not get a Partner Center token for tenant '{creds.name}' "
        f"({creds.tenant_id}) with its {creds.kind.describe()}: {api_errors.redact(detail)}. "
        f"Check {pc_config.credential_origin(creds)} (docs/configuration.md)."
    )


def _msal_result(creds: pc_config.TenantCredentials, result: Mapping[str, Any] | None) -> Acquired:
    if not result or "access_token" not in result:
        result = result or {}
        detail = f"{result.get('error', 'no token')}: {result.get('error_description', '')}"
        raise _credential_failure(creds, detail.strip().rstrip(":"))
    return Acquired(str(result["access_token"]), float(result.get("expires_in", 3600)))


def client_credential(
    creds: pc_config.TenantCredentials, *, assertion: Callable[[], str] | None = None
) -> str | dict[str, Any]:
    """The ``client_credential`` MSAL wants for an app-only credential."""
    kind = creds.kind
    if kind is pc_config.CredentialKind.SECRET:
        assert creds.client_secret is not None
        return creds.client_secret
    if kind is pc_config.CredentialKind.CERTIFICATE:
        assert creds.certificate_path is not None
        pem = certificates.read_certificate(creds)
        return {"private_key": pem, "thumbprint": certificates.certificate_thumbprint(creds, pem)}
    if assertion is None:
        raise errors.ConfigError(f"Tenant '{creds.name}' has no client assertion source.")
    # A callable: MSAL calls it for every token request, so a short-lived assertion (GitHub
    # OIDC lives ~5 minutes) is always fresh.
    return {"client_assertion": assertion}


def confidential_acquirer(
    creds: pc_config.TenantCredentials,
    endpoints: settings.Endpoints,
    http_client: MsalHttpClient,
    *,
    assertion: Callable[[], str] | None = None,
) -> Callable[[bool], Acquired]:
    """An ``acquire(force_refresh)`` function for app-only tokens of one tenant."""
    state: dict[str, Any] = {}

    def build() -> Any:
        return msal.ConfidentialClientApplication(
            creds.client_id,
            client_credential=client_credential(creds, assertion=assertion),
            authority=authority_url(endpoints, creds.tenant_id),
            http_client=http_client,
            instance_discovery=_instance_discovery(endpoints),
            token_cache=msal.TokenCache(),
        )

    def acquire(force_refresh: bool) -> Acquired:
        try:
            if force_refresh or "app" not in state:
                # A new application has an empty cache: the only way to force a new token.
                state["app"] = build()
            result = state["app"].acquire_token_for_client(scopes=[settings.APP_SCOPE])
        except (requests.RequestException, ValueError, OSError, msal.exceptions.MsalError) as exc:
            raise _credential_failure(creds, f"{type(exc).__name__}: {exc}") from None
        return _msal_result(creds, result)

    return acquire


def load_token_cache(
    path: Path, *, discard_unreadable: bool = False
) -> msal.SerializableTokenCache:
    """The token cache file at ``path`` (an empty cache when there is none).

    The file is read up to ``files.MAX_TOKEN_CACHE_BYTES`` and checked to be MSAL's shape (an
    object of sections of objects) before MSAL sees it. One that is not is a ``ConfigError``
    naming the file, or, for ``login`` (``discard_unreadable``), replaced by a fresh sign-in."""
    cache = msal.SerializableTokenCache()
    hint = f"Delete {path} and sign in again with `reconciler login`."
    try:
        raw = files.read_bounded(
            path,
            cap=files.MAX_TOKEN_CACHE_BYTES,
            what="the token cache",
            hint=hint,
            error=errors.ConfigError,
        )
    except FileNotFoundError:
        return cache
    except errors.ConfigError:
        if discard_unreadable:
            return cache
        raise
    try:
        text = raw.decode("utf-8")
        _check_cache_shape(files.json_loads(text))
    except ValueError as exc:  # UnicodeDecodeError is one too
        if discard_unreadable:
            return cache
        raise errors.ConfigError(
            f"The token cache {path} cannot be understood ({str(exc)[:120]}); it was not used. "
            f"{hint}"
        ) from None
    cache.deserialize(text)
    return cache


def _check_cache_shape(doc: object) -> None:
    """ValueError unless ``doc`` is what MSAL serialises: sections of entries, all objects."""
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    for name, section in doc.items():
        if not isinstance(section, dict) or not all(
            isinstance(entry, dict) for entry in section.values()
        ):
            raise ValueError(f"its {str(name)[:40]!r} section is not a table of entries")


def save_token_cache(cache: msal.SerializableTokenCache, path: Path) -> None:
    """Write the cache atomically, readable only by the user (0600)."""
    files.write_text(
        path,
        cache.serialize(),
        what="the token cache",
        hint="Check that its directory is writable by you (or set RECONCILER_TOKEN_CACHE_DIR "
        "to one that is), then sign in again with `reconciler login`.",
        mode=0o600,
        make_parents=True,
    )


def public_app(
    tenant_id: str,
    public_client_id: str,
    endpoints: settings.Endpoints,
    http_client: MsalHttpClient,
    cache: msal.SerializableTokenCache,
) -> Any:
    return msal.PublicClientApplication(
        public_client_id,
        authority=authority_url(endpoints, tenant_id),
        http_client=http_client,
        instance_discovery=_instance_discovery(endpoints),
        token_cache=cache,
    )


def delegated_acquirer(
    creds: pc_config.DelegatedCredentials,
    endpoints: settings.Endpoints,
    http_client: MsalHttpClient,
) -> Callable[[bool], Acquired]:
    """An ``acquire(force_refresh)`` for App+User tokens from the tenant's token cache file."""
    lock = threading.Lock()

    def acquire(force_refresh: bool) -> Acquired:
        with lock:
            cache = load_token_cache(creds.cache_path)
            try:
                app = public_app(
                    creds.tenant_id, creds.public_client_id, endpoints, http_client, cache
                )
                accounts = app.get_accounts()
                result = None
                if accounts:
                    result = app.acquire_token_silent(
                        [settings.USER_SCOPE], account=accounts[0], force_refresh=force_refresh
                    )
            except (
                requests.RequestException,
                ValueError,
                OSError,
                KeyError,  # a hand-edited cache entry MSAL cannot read
                TypeError,
                msal.exceptions.MsalError,
            ) as exc:
                raise _delegated_failure(creds, f"{type(exc).__name__}: {exc}") from None
            if cache.has_state_changed:
                save_token_cache(cache, creds.cache_path)
        if not result or "access_token" not in result:
            detail = (result or {}).get("error_description") or "no signed-in user in the cache"
            raise _delegated_failure(creds, str(detail))
        return Acquired(str(result["access_token"]), float(result.get("expires_in", 3600)))

    return acquire


def _delegated_failure(creds: pc_config.DelegatedCredentials, detail: str) -> errors.ConfigError:
    return errors.ConfigError(
        f"No delegated (App+User) token for tenant '{creds.name}': {api_errors.redact(detail)}. "
        f"Run `reconciler login {creds.name}` to sign in again (cache: {creds.cache_path})."
    )


def device_code_login(
    creds: pc_config.DelegatedCredentials,
    endpoints: settings.Endpoints,
    http_client: MsalHttpClient,
    *,
    show: Callable[[str], None],
) -> str:
    """Sign a user in with the device-code flow; store the refresh token in the cache file.

    ``show`` receives the instructions to display (URL and code). Returns the signed-in
    user's name.
    """
    cache = load_token_cache(creds.cache_path, discard_unreadable=True)  # login replaces it
    try:
        app = public_app(creds.tenant_id, creds.public_client_id, endpoints, http_client, cache)
        flow = app.initiate_device_flow(scopes=[settings.USER_SCOPE])
        if "user_code" not in flow:
            raise _delegated_failure(creds, str(flow.get("error_description", "no device code")))
        show(str(flow.get("message", "")))
        result = app.acquire_token_by_device_flow(flow)
    except (requests.RequestException, ValueError, OSError) as exc:
        raise _delegated_failure(creds, f"{type(exc).__name__}: {exc}") from None
    if "access_token" not in result:
        raise _delegated_failure(creds, str(result.get("error_description", "sign-in failed")))
    save_token_cache(cache, creds.cache_path)
    claims = result.get("id_token_claims") or {}
    with contextlib.suppress(Exception):
        accounts = app.get_accounts()
        if accounts:
            return str(accounts[0].get("username", ""))
    return str(claims.get("preferred_username", ""))
