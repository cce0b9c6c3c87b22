"""Build ready-to-use ``PartnerCenterClient``s from a resolved ``config.Connection``.

This is the one place that wires sessions, MSAL token providers, token buckets and retry
policies together, so the CLI (the composition root) only calls ``build_clients``. It must
NOT acquire tokens or send requests while building (tokens are fetched on first use).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO

import requests

from reconciler import model, settings
from reconciler.partner_center import auth, client, config, http, retrying, throttle
from reconciler.partner_center.stats import Stats

#: The logger every Partner Center request and retry is logged on.
_LOGGER = "reconciler.partner_center"


def _assertion(
    creds: config.TenantCredentials, session: requests.Session, endpoints: settings.Endpoints
) -> Callable[[], str] | None:
    if creds.kind is config.CredentialKind.FEDERATED_TOKEN_FILE:
        assert creds.federated_token_file is not None
        return auth.federated_file_assertion(creds.federated_token_file)
    if creds.kind is config.CredentialKind.GITHUB_OIDC:
        assert creds.github is not None
        return auth.github_oidc_assertion(
            creds.github.request_url,
            creds.github.request_token,
            session=session,
            verify=endpoints.verify,
        )
    if creds.kind is config.CredentialKind.AZURE_PIPELINES_OIDC:
        assert creds.azure_pipelines is not None
        ado = creds.azure_pipelines
        return auth.azure_pipelines_oidc_assertion(
            ado.request_uri,
            ado.access_token,
            ado.service_connection_id,
            session=session,
            verify=endpoints.verify,
        )
    return None


def token_provider(
    creds: config.TenantCredentials,
    endpoints: settings.Endpoints,
    *,
    timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    backoff: float = 1.0,
) -> auth.CachingTokenProvider:
    """App-only tokens for one tenant, cached and refreshed before expiry; the sign-in
    service's failures are retried from ``backoff`` seconds, doubling."""
    session = http.new_session(pool_size=2)
    msal_http = auth.MsalHttpClient(
        session,
        verify=endpoints.verify,
        timeout=timeout,
        tenant=creds.name,
        ca_source=endpoints.ca_bundle_source,
        backoff=backoff,
    )
    acquire = auth.confidential_acquirer(
        creds, endpoints, msal_http, assertion=_assertion(creds, session, endpoints)
    )
    return auth.CachingTokenProvider(acquire, clock=clock)


def delegated_provider(
    creds: config.DelegatedCredentials, endpoints: settings.Endpoints, *, timeout: float = 30.0
) -> auth.CachingTokenProvider:
    """App+User tokens for one tenant from its ``reconciler login`` cache."""
    msal_http = auth.MsalHttpClient(
        http.new_session(pool_size=2),
        verify=endpoints.verify,
        timeout=timeout,
        tenant=creds.name,
        ca_source=endpoints.ca_bundle_source,
    )
    return auth.CachingTokenProvider(auth.delegated_acquirer(creds, endpoints, msal_http))


def retry_policy(pace: settings.Throughput) -> retrying.RetryPolicy:
    """The retry policy configured by ``pace``: the back-off starts at its
    ``retry_backoff_seconds`` and is capped at 60 times that (one minute at the default)."""
    base = pace.retry_backoff_seconds
    return retrying.RetryPolicy(backoff_base=base, backoff_max=base * 60)


def build_clients(
    tenants: Iterable[model.Tenant],
    connection: config.Connection,
    *,
    policy: retrying.RetryPolicy | None = None,
    delegated_for: Iterable[str] = (),
    page_size: int = 100,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, client.PartnerCenterClient]:
    """One client per tenant. ``delegated_for`` names the tenants that get an App+User
    transport when their user is signed in (the target, for the invitation URL). Without
    ``policy``, retries follow the connection's throughput settings (``retry_policy``)."""
    policy = policy if policy is not None else retry_policy(connection.throughput)
    wants_user = set(delegated_for)
    return {
        tenant.name: _tenant_client(
            tenant,
            connection,
            policy=policy,
            wants_user=tenant.name in wants_user,
            page_size=page_size,
            clock=clock,
            sleep=sleep,
        )
        for tenant in tenants
    }


def _tenant_client(
    tenant: model.Tenant,
    connection: config.Connection,
    *,
    policy: retrying.RetryPolicy,
    wants_user: bool,
    page_size: int,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> client.PartnerCenterClient:
    """One tenant's client: an app-only transport and, when ``wants_user`` and the user is
    signed in, an App+User transport on the same session, buckets and stats."""
    endpoints, pace = connection.endpoints, connection.throughput
    creds = connection.tenants[tenant.name]
    session = http.new_session(pool_size=max(4, pace.concurrency_per_tenant + 2))
    bucket = throttle.TokenBucket(
        pace.tenant_rate_per_minute,
        burst=throttle.burst_tokens(pace.tenant_rate_per_minute, pace.burst_seconds),
        clock=clock,
        sleep=sleep,
    )
    per_customer = throttle.BucketSet(pace.customer_rate_per_minute, clock=clock, sleep=sleep)
    stats = Stats(clock=clock)

    def transport(tokens: auth.TokenProvider) -> http.Transport:
        return http.Transport(
            tenant=tenant.name,
            api_root=endpoints.api_root,
            tokens=tokens,
            verify=endpoints.verify,
            ca_source=endpoints.ca_bundle_source,
            session=session,
            policy=policy,
            bucket=bucket,
            customer_buckets=per_customer,
            timeout=pace.timeout_seconds,
            stats=stats,
            clock=clock,
            sleep=sleep,
        )

    tokens = token_provider(
        creds,
        endpoints,
        timeout=pace.timeout_seconds,
        clock=clock,
        backoff=pace.retry_backoff_seconds,
    )
    app = transport(tokens)
    user = None
    delegated = connection.delegated.get(tenant.name)
    if wants_user and delegated is not None and delegated.signed_in:
        # Same bucket and stats: both count against the tenant's one rate budget.
        user = transport(delegated_provider(delegated, endpoints, timeout=pace.timeout_seconds))
    return client.PartnerCenterClient(
        app,
        tenant=tenant,
        delegated=user,
        page_size=page_size,
        concurrency=pace.concurrency_per_tenant,
        sleep=sleep,
        order_list_lag=pace.order_list_lag_seconds,
    )


def total_summary(clients: Iterable[client.PartnerCenterClient]) -> str:
    """One line summing every client's stats, for the CLI's final summary."""
    items = list(clients)
    req = sum(c.stats.requests for c in items)
    ret = sum(c.stats.retries for c in items)
    thr = sum(c.stats.throttled for c in items)
    wait = sum(c.stats.throttle_wait for c in items)
    elapsed = max((c.stats.elapsed for c in items), default=0.0)
    return (
        f"{req} requests to Partner Center, {ret} retries, {thr} throttled "
        f"(waited {wait:.1f}s), {elapsed:.1f}s"
    )


@contextlib.contextmanager
def request_log(stream: IO[str] | None) -> Iterator[None]:
    """``enable_request_log(stream)`` for the duration of a ``with`` block, then the logger
    as it was (so in-process runs and tests do not pile up handlers). ``None``: no logging."""
    if stream is None:
        yield
        return
    logger = logging.getLogger(_LOGGER)
    level = logger.level
    handler = enable_request_log(stream)
    try:
        yield
    finally:
        handler.flush()
        logger.removeHandler(handler)
        logger.setLevel(level)


def enable_request_log(stream: IO[str]) -> logging.Handler:
    """For ``--verbose``: log every Partner Center request (method, path, status, duration,
    attempt, MS-RequestId, MS-CorrelationId) and every retry to ``stream``. Tokens, secrets
    and bodies are never part of these records. Returns the handler (to remove it later)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger(_LOGGER)
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return handler
