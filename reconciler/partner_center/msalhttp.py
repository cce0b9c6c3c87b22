"""The HTTP client MSAL uses for every call to the sign-in service (the authority): a requests
session with ``verify=`` passed on every call, retries of the authority's transient failures,
and a ``TlsError`` for a certificate that does not verify.

Split from ``auth`` and re-exported there. This module must NOT log request bodies (they carry
secrets and assertions).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from reconciler import errors, settings
from reconciler.partner_center import bodies
from reconciler.partner_center import errors as api_errors


class MsalHttpClient:
    """The ``http_client`` MSAL uses: a requests session, but with ``verify=`` passed on every
    call so an ambient ``REQUESTS_CA_BUNDLE`` can never override the configured CA.

    The sign-in service fails like any service: 5xx, 429 with ``Retry-After``, timeouts and
    dropped connections are retried here (token requests have no side effects) up to
    ``attempts`` times with exponential back-off, then reported as ``SignInError`` naming the
    authority, never as a credential problem; a certificate that does not verify is a
    ``TlsError`` at once (retrying cannot fix it)."""

    #: Statuses of the authority worth another try.
    RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

    def __init__(
        self,
        session: requests.Session,
        *,
        verify: str | bool,
        timeout: float,
        tenant: str = "",
        ca_source: str = "",
        attempts: int = 4,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._session = session
        self._verify = verify
        self._timeout = timeout
        self._tenant = tenant
        self._ca_source = ca_source
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._max_wait = max_wait
        self._sleep = sleep

    def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any) -> Any:
        return self._send("GET", url, params=params, headers=headers, **kw)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kw: Any
    ) -> Any:
        return self._send("POST", url, params=params, data=data, headers=headers, **kw)

    def _send(self, method: str, url: str, **kw: Any) -> Any:
        kw.setdefault("timeout", self._timeout)
        kw["verify"] = self._verify
        host = urlsplit(url).hostname or url
        what = ""
        for attempt in range(1, self._attempts + 1):
            wait = self._backoff * 2 ** (attempt - 1)
            try:
                resp = self._session.request(method, url, **kw)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if api_errors.certificate_rejected(exc):
                    raise api_errors.tls_failure(
                        self._tenant or "?", host, self._verify, self._ca_source
                    ) from None
                what = f"did not answer ({type(exc).__name__})"
            else:
                if resp.status_code not in self.RETRY_STATUSES:
                    return bodies.tolerate_bom(resp)  # MSAL reads resp.text
                what = f"answered HTTP {resp.status_code}"
                after = resp.headers.get("Retry-After", "")
                if after.strip().isdigit():
                    wait = float(after.strip())
            if attempt < self._attempts:
                self._sleep(min(wait, self._max_wait))
        raise errors.SignInError(
            f"The sign-in service {host} {what} {self._attempts} times in a row, so no "
            f"Partner Center token could be had for tenant '{self._tenant or '?'}'. This is not a "
            "credential problem: try again later, and check the authority host setting "
            f"({settings.ENV_AUTHORITY_HOST}) if it persists (docs/configuration.md)."
        )

    def close(self) -> None:
        self._session.close()
