"""The one HTTP seam to Partner Center: every call goes through ``Transport.call``.

It resolves links (the /v1 rule), paces requests (token buckets), adds the bearer token and
the MS-RequestId / MS-CorrelationId headers, passes ``verify=`` explicitly, retries per
``RetryPolicy`` (the same MS-RequestId on every attempt), maps errors to the
``partner_center.errors`` tree, logs one line per attempt and counts what happened (``Stats``,
kept in ``stats`` and importable from here).

This module must NOT know Partner Center resources (``client`` does), log tokens, secrets or
bodies, or let urllib3 retry on its own (retries would be doubled and invisible).
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from reconciler import __version__
from reconciler.partner_center import auth, bodies, retrying, throttle
from reconciler.partner_center import errors as api_errors
from reconciler.partner_center.stats import Stats

log = logging.getLogger(__name__)

#: Statuses that mean success for our calls.
SUCCESS = frozenset({200, 201, 202, 204})
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def resolve_link(api_root: str, link: str) -> str:
    """Absolute URL of a Partner Center link (partner-center-api.md §1.1).

    Relative links usually omit the version: prepend ``/v1`` unless the path already starts
    with ``/v1``, then the API root. Absolute links are accepted only under the API root, so a
    bearer token is never sent to another host.
    """
    root = api_root.rstrip("/")
    if link.startswith(("https://", "http://")):
        if link == root or link.startswith(root + "/"):
            return link
        raise ValueError(f"link {link!r} points outside the API root {root}")
    path = link if link.startswith("/") else "/" + link
    head = path.split("?", 1)[0]
    if not (head == "/v1" or head.startswith("/v1/")):
        path = "/v1" + path
    return root + path


def new_session(*, pool_size: int = 16) -> requests.Session:
    """A session with urllib3's own retries off and a pool big enough for our workers.

    The pool blocks: more threads than ``pool_size`` (apply's workers, which mostly wait for
    provisioning) queue for a connection instead of opening and discarding extra ones, so
    ``pool_size`` also bounds the requests in flight per tenant."""
    session = requests.Session()
    adapter = HTTPAdapter(
        max_retries=urllib3.util.Retry(
            total=0, connect=0, read=0, redirect=0, status=0, other=0, raise_on_status=False
        ),
        pool_connections=pool_size,
        pool_maxsize=pool_size,
        pool_block=True,
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful response, parsed; never a ``requests.Response`` outside this module."""

    status: int
    body: Any
    headers: Mapping[str, str]
    request_id: str


def _not_sent(exc: requests.RequestException) -> bool:
    """True when the request surely never left this machine (so a write is not ambiguous)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


@dataclass(slots=True)
class _Call:
    """One logical call across its attempts: what is sent (the same MS-RequestId every time)
    and what the retry policy needs to know about the attempts so far."""

    method: str
    url: str
    path: str
    rid: str
    data: bytes | None
    headers: Mapping[str, str] | None
    customer: str | None
    is_write: bool
    attempt: int = 0
    throttled: int = 0
    #: Whether the next attempt takes a fresh token (after a 401).
    refresh: bool = False
    #: Whether any attempt may have reached the service (decides "unknown" for a write).
    delivered: bool = False


class Transport:
    """Sends calls for one partner tenant (one token provider, one rate budget)."""

    def __init__(
        self,
        *,
        tenant: str,
        api_root: str,
        tokens: auth.TokenProvider,
        verify: str | bool,
        session: requests.Session | None = None,
        policy: retrying.RetryPolicy | None = None,
        bucket: throttle.TokenBucket | None = None,
        customer_buckets: throttle.BucketSet | None = None,
        timeout: float = 30.0,
        stats: Stats | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        unit_random: Callable[[], float] = random.random,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        ca_source: str = "",
    ) -> None:
        self.tenant = tenant
        #: Where the CA bundle was configured, for the message when a certificate fails.
        self.ca_source = ca_source
        self.api_root = api_root.rstrip("/")
        self.tokens = tokens
        self.verify = verify
        self.session = session or new_session()
        self.policy = policy or retrying.RetryPolicy()
        self.bucket = bucket
        self.customer_buckets = customer_buckets
        self.timeout = timeout
        self.stats = stats or Stats(clock=clock)
        self.clock = clock
        self.sleep = sleep
        self.unit_random = unit_random
        self.new_id = new_id
        #: One correlation id per transport (one run), so support can trace a whole run.
        self.correlation_id = new_id()

    def _pace(self, customer: str | None) -> None:
        waited = 0.0
        if self.customer_buckets is not None and customer:
            waited += self.customer_buckets.get(customer.lower()).acquire()
        if self.bucket is not None:
            waited += self.bucket.acquire()
        if waited:
            self.stats.add(pacing_wait=waited)

    def _headers(
        self, token: str, request_id: str, extra: Mapping[str, str] | None, has_body: bool
    ) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "MS-RequestId": request_id,
            "MS-CorrelationId": self.correlation_id,
            "MS-Contract-Version": "v1",
            "X-Locale": "en-US",
            "MS-PartnerCenter-Application": f"reconciler/{__version__}",
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        headers.update(extra or {})
        return headers

    def _refuse_certificate(self, exc: requests.RequestException, url: str) -> None:
        """Raise ``TlsError`` when ``exc`` is a certificate that did not verify: retrying
        cannot fix it, the whole tenant is unusable, and the request never left (the handshake
        failed). Any other failure returns, to be retried."""
        if api_errors.certificate_rejected(exc):
            host = urlsplit(url).hostname or url
            raise api_errors.tls_failure(self.tenant, host, self.verify, self.ca_source) from None

    def call(
        self,
        method: str,
        link: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        customer: str | None = None,
        write: bool | None = None,
    ) -> Reply:
        """Send one logical call (retrying as the policy allows) and return the reply.

        ``request_id`` is the MS-RequestId kept across every attempt (writes should pass the
        one their caller journals). Raises an ``ApiError`` subclass, or ``UnknownOutcome``
        when a write's result stays unknown.
        """
        method = method.upper()
        is_write = method in WRITE_METHODS if write is None else write
        try:
            url = resolve_link(self.api_root, link)
        except ValueError as exc:
            raise api_errors.ApiBusinessError(
                status=0,
                code=None,
                description=str(exc),
                method=method,
                path=link,
                tenant=self.tenant,
            ) from None
        call = _Call(
            method=method,
            url=url,
            path=url[len(self.api_root) :],
            rid=request_id or self.new_id(),
            data=None if body is None else json.dumps(body).encode("utf-8"),
            headers=headers,
            customer=customer,
            is_write=is_write,
        )
        while True:
            outcome = self._attempt(call)
            if isinstance(outcome, Reply):
                return outcome
            self._decide_and_wait(call, *outcome)

    def _attempt(self, call: _Call) -> Reply | tuple[api_errors.ApiError, retrying.Failure]:
        """Send one attempt: the reply on success, else the error and what the policy needs.

        Tracks on ``call`` whether the request may have reached the service (a refused
        connection did not; anything but a 429 answer did) and counts 429s. A certificate that
        does not verify raises ``TlsError`` here, never retried.
        """
        call.attempt += 1
        self._pace(call.customer)
        token = self.tokens.token(force_refresh=call.refresh)
        start = self.clock()
        self.stats.sent(start)
        method, path, rid = call.method, call.path, call.rid
        try:
            resp = self.session.request(
                method,
                call.url,
                data=call.data,
                headers=self._headers(token, rid, call.headers, call.data is not None),
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            self._refuse_certificate(exc, call.url)
            not_sent = _not_sent(exc)
            call.delivered = call.delivered or not not_sent
            self._log(method, path, f"{type(exc).__name__}", start, rid, call.attempt)
            error: api_errors.ApiError = api_errors.ApiServerError(
                status=0,
                code=None,
                description=f"connection failed ({type(exc).__name__})",
                method=method,
                path=path,
                request_id=rid,
                tenant=self.tenant,
            )
            return error, retrying.Failure(status=None, not_sent=not_sent)
        self._log(method, path, str(resp.status_code), start, rid, call.attempt)
        bodies.tolerate_bom(resp)
        if resp.status_code in SUCCESS:
            return self._reply(resp, method, path, rid)
        call.delivered = call.delivered or resp.status_code != 429
        error = api_errors.from_response(
            resp.status_code,
            resp.text,
            method=method,
            path=path,
            headers=resp.headers,
            request_id=rid,
            tenant=self.tenant,
        )
        retry_after = getattr(error, "retry_after", None)
        if resp.status_code == 429:
            call.throttled += 1
            self.stats.add(throttled=1)
        return error, retrying.Failure(status=resp.status_code, retry_after=retry_after)

    def _decide_and_wait(
        self, call: _Call, error: api_errors.ApiError, failure: retrying.Failure
    ) -> None:
        """Ask the policy about a failed attempt: return to try again (after a token refresh
        or a wait), or raise the error (``UnknownOutcome`` when a write may have happened)."""
        decision = retrying.decide(
            self.policy,
            failure,
            is_write=call.is_write,
            attempt=call.attempt,
            throttled_so_far=call.throttled,
            token_refreshed=call.refresh,
            possibly_delivered=call.delivered,
            unit_random=self.unit_random(),
        )
        if decision.verdict is retrying.Verdict.REFRESH_TOKEN:
            call.refresh = True
            self.stats.add(retries=1)
            return
        if decision.verdict is retrying.Verdict.FAIL:
            self.stats.add(failures=1)
            raise error
        if decision.verdict is retrying.Verdict.UNKNOWN:
            self.stats.add(failures=1)
            raise api_errors.UnknownOutcome(
                status=error.status,
                code=error.code,
                description=error.description,
                method=call.method,
                path=call.path,
                request_id=call.rid,
                tenant=self.tenant,
            ) from error
        call.refresh = False
        self._wait(decision.delay, call.method, call.path, call.attempt, error, failure)

    def _wait(
        self,
        delay: float,
        method: str,
        path: str,
        attempt: int,
        error: api_errors.ApiError,
        failure: retrying.Failure,
    ) -> None:
        what = f"HTTP {failure.status}" if failure.status else error.description
        log.info(
            "%s %s attempt %d failed (%s) on tenant %s; retrying in %.1fs",
            method,
            api_errors.redact(path),
            attempt,
            what,
            self.tenant,
            delay,
        )
        self.stats.add(retries=1)
        if failure.status == 429:
            self.stats.add(throttle_wait=delay)
        self.sleep(delay)

    def _reply(self, resp: requests.Response, method: str, path: str, rid: str) -> Reply:
        text = resp.text
        try:
            body = json.loads(text) if text.strip() else None
        except ValueError:
            raise api_errors.ApiServerError(
                status=resp.status_code,
                code=None,
                description="the response is not JSON",
                method=method,
                path=path,
                request_id=rid,
                tenant=self.tenant,
            ) from None
        return Reply(status=resp.status_code, body=body, headers=dict(resp.headers), request_id=rid)

    def _log(
        self, method: str, path: str, outcome: str, start: float, rid: str, attempt: int
    ) -> None:
        if log.isEnabledFor(logging.DEBUG):
            host = urlsplit(self.api_root).netloc.rpartition("@")[2]  # never user:password@
            path = api_errors.redact(path)
            log.debug(
                "%s %s%s -> %s in %.3fs (tenant %s, attempt %d, MS-RequestId %s, "
                "MS-CorrelationId %s)",
                method,
                host,
                path,
                outcome,
                self.clock() - start,
                self.tenant,
                attempt,
                rid,
                self.correlation_id,
            )
