"""The one function that maps a Partner Center response to the ``ApiError`` tree.

Every failure of a call to Partner Center becomes an ``ApiError`` subclass chosen from the
HTTP status and the numeric Partner Center ``code`` (partner-center-api.md §5). Messages are
one paragraph (what, where, what to do) with the response body truncated and anything that
looks like a secret or token removed.

This module must NOT import requests or msal (it maps plain values), and must never put a
token, a secret or a full response body into a message.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping

from reconciler import settings
from reconciler.errors import (
    MAX_DESCRIPTION,
    ApiAuthError,
    ApiBusinessError,
    ApiConflict,
    ApiError,
    ApiForbidden,
    ApiNeedsUser,
    ApiNoRelationship,
    ApiNotFound,
    ApiServerError,
    ApiThrottled,
    TlsError,
    UnknownOutcome,
    redact,
)

# The classes are defined in ``reconciler.errors`` (the one error tree); this module keeps the
# mapping of a response to them and re-exports their names for its callers.
__all__ = [
    "APP_ONLY_NOT_SUPPORTED_CODES",
    "COMMERCE_REFUSAL_CODES",
    "MAX_DESCRIPTION",
    "NO_RELATIONSHIP_CODES",
    "STALE_CODES",
    "ApiAuthError",
    "ApiBusinessError",
    "ApiConflict",
    "ApiError",
    "ApiForbidden",
    "ApiNeedsUser",
    "ApiNoRelationship",
    "ApiNotFound",
    "ApiServerError",
    "ApiThrottled",
    "UnknownOutcome",
    "error_class",
    "from_response",
    "parse_error_body",
    "redact",
    "tls_failure",
]

#: Codes meaning "this partner has no commerce relationship with the customer" (§3.2).
NO_RELATIONSHIP_CODES = frozenset({20002})
#: Codes meaning "this endpoint needs an App+User token" (§2.4).
APP_ONLY_NOT_SUPPORTED_CODES = frozenset({900329})
#: Codes meaning "the resource changed since you read it": 2055 "Etag is no longer valid",
#: documented with HTTP 400 (§0, §5.3), is a conflict at any status, like 409 and 412.
STALE_CODES = frozenset({2055})
#: 403 codes that refuse a purchase on commercial grounds, not for lack of rights (§5.3): offer
#: no longer sold (2091, 800028), not eligible (2006, 2085, 800020), limits (800066, 800067),
#: Microsoft Customer Agreement not accepted (13605). Repeating the call changes nothing.
COMMERCE_REFUSAL_CODES = frozenset({2091, 800028, 2006, 2085, 800020, 800066, 800067, 13605})


def parse_error_body(body: str) -> tuple[int | None, str]:
    """``(code, description)`` from a Partner Center error body, leniently.

    Handles the documented shape ``{"code": 20003, "description": ...}`` (code as number or
    string), the 429 shape ``{"statusCode": 429, "message": ...}``, and non-JSON text.
    """
    try:
        doc = json.loads(body) if body.strip() else None
    except ValueError:
        return None, body
    if not isinstance(doc, dict):
        return None, body if doc is None else str(doc)
    raw_code = doc.get("code", doc.get("errorCode"))
    code: int | None
    try:
        code = int(raw_code) if raw_code is not None and str(raw_code).strip() else None
    except (TypeError, ValueError):
        code = None
    description = doc.get("description") or doc.get("message") or doc.get("errorDescription")
    return code, str(description or "")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value.split(",")[0].strip()))
            except ValueError:
                return None
    return None


def from_response(
    status: int,
    body: str,
    *,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    request_id: str = "",
    tenant: str = "",
) -> ApiError:
    """The ``ApiError`` subclass for an HTTP error response (status >= 400)."""
    code, description = parse_error_body(body)
    kwargs = {
        "status": status,
        "code": code,
        "description": description,
        "method": method,
        "path": path,
        "request_id": request_id,
        "tenant": tenant,
    }
    if status == 429:
        return ApiThrottled(retry_after=_retry_after(headers or {}), **kwargs)
    return error_class(status, code)(**kwargs)  # type: ignore[arg-type]


def error_class(status: int, code: int | None) -> type[ApiError]:
    """Which subclass a status and Partner Center code map to (pure; the table of §5.3)."""
    if code in STALE_CODES:
        return ApiConflict
    if status == 403 and code in NO_RELATIONSHIP_CODES:
        return ApiNoRelationship
    if status == 403 and code in APP_ONLY_NOT_SUPPORTED_CODES:
        return ApiNeedsUser
    if status == 401:
        return ApiAuthError
    if status == 403 and code in COMMERCE_REFUSAL_CODES:
        return ApiBusinessError
    if status == 403:
        return ApiForbidden
    if status == 404:
        return ApiNotFound
    if status in (409, 412):
        return ApiConflict
    if status == 429:
        return ApiThrottled
    if status == 408 or status >= 500:
        return ApiServerError
    return ApiBusinessError


def certificate_rejected(exc: BaseException) -> bool:
    """Whether ``exc`` (a requests ``SSLError``) is a certificate that did not verify, as
    opposed to a connection torn down mid-handshake or mid-response (an ``SSLEOFError``,
    which is a transient network failure and retried like one)."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError):
            return True
        stack.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def tls_failure(tenant: str, host: str, verify: str | bool, source: str = "") -> TlsError:
    """The one paragraph for a certificate that did not verify: the host, what we trusted,
    and the setting that changes it (an ambient ``REQUESTS_CA_BUNDLE`` is honoured only when
    no CA bundle is configured)."""
    if isinstance(verify, str):
        trusted = f"the CA bundle {verify}" + (f" (set by {source})" if source else "")
    else:
        trusted = "the default trust store (REQUESTS_CA_BUNDLE when it is set, else certifi's)"
    return TlsError(
        f"The TLS certificate of {host} did not verify against {trusted}, so partner tenant "
        f"'{tenant}' cannot be reached. If a proxy inspects TLS on your network, or {host} is "
        f"the emulator, set {settings.ENV_CA_BUNDLE} (or ca_bundle in the [endpoints] table of "
        "the credentials file) to the PEM file of the CA that signs it; check the system clock "
        "too (docs/configuration.md)."
    )
