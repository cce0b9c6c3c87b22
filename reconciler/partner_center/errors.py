"""The Partner Center error tree and the one function that maps a response to it.

Every failure of a call to Partner Center becomes an ``ApiError`` subclass chosen from the
HTTP status and the numeric Partner Center ``code`` (partner-center-api.md §5). Messages are
one paragraph (what, where, what to do) with the response body truncated and anything that
looks like a secret or token removed.

This module must NOT import requests or msal (it maps plain values), and must never put a
token, a secret or a full response body into a message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from reconciler import errors

#: Longest response description kept in a message.
MAX_DESCRIPTION = 300

# Anything that may be a credential: bearer tokens, JWTs, key=value secrets in form bodies.
_SECRET_PATTERNS = (
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(
        r"(?i)(client_secret|client_assertion|access_token|refresh_token|id_token|password"
        r"|assertion|secret|token)([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
    ),
)

#: Codes meaning "this partner has no commerce relationship with the customer" (§3.2).
NO_RELATIONSHIP_CODES = frozenset({20002})
#: Codes meaning "this endpoint needs an App+User token" (§2.4).
APP_ONLY_NOT_SUPPORTED_CODES = frozenset({900329})


def redact(text: str) -> str:
    """``text`` with bearer tokens, JWTs and ``secret=...``-style values replaced."""
    out = _SECRET_PATTERNS[0].sub("Bearer [redacted]", text)
    out = _SECRET_PATTERNS[1].sub("[redacted-jwt]", out)
    return _SECRET_PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", out)


def _clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ApiError(errors.ReconcilerError):
    """Partner Center answered a call with an error, or the call could not be completed."""

    hint = "Check the request and the Partner Center documentation for this error code."

    def __init__(
        self,
        *,
        status: int,
        code: int | None,
        description: str,
        method: str,
        path: str,
        request_id: str = "",
        tenant: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.description = _clip(redact(description))
        self.method = method
        self.path = path
        self.request_id = request_id
        self.tenant = tenant
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.method} {self.path}"
        if self.tenant:
            where += f" on partner tenant '{self.tenant}'"
        what = f"HTTP {self.status}" if self.status else "no response"
        if self.code is not None:
            what += f", code {self.code}"
        text = f"Partner Center call {where} failed ({what})"
        if self.description:
            text += f": {self.description.rstrip('.')}"
        text += f". {self.hint}"
        if self.request_id:
            text += f" (MS-RequestId {self.request_id})"
        return text


class ApiAuthError(ApiError):
    hint = (
        "The token was refused: check the tenant's client id and credential (see "
        "docs/configuration.md) and that the app is registered in Partner Center."
    )


class ApiForbidden(ApiError):
    hint = "The caller lacks the rights for this call: check the app's Partner Center role."


class ApiNoRelationship(ApiForbidden):
    hint = (
        "The partner tenant has no relationship with this customer yet (for the target: the "
        "customer has not accepted the reseller invitation)."
    )


class ApiNeedsUser(ApiForbidden):
    hint = "This call needs a delegated (App+User) sign-in: run `reconciler login TENANT`."


class ApiNotFound(ApiError):
    hint = "The resource does not exist (or no longer exists); re-read live state with `plan`."


class ApiConflict(ApiError):
    hint = "Another operation is in progress or the resource changed; re-read it and retry."


class ApiThrottled(ApiError):
    hint = "Partner Center kept throttling the calls; lower RECONCILER_RATE_PER_MINUTE or retry."

    def __init__(self, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)  # type: ignore[arg-type]


class ApiServerError(ApiError):
    hint = "Partner Center failed or could not be reached; retry later."


class ApiBusinessError(ApiError):
    hint = "Partner Center refused the request as invalid; it will not succeed if repeated."


class UnknownOutcome(ApiError):
    """A write whose result is unknown: it may or may not have happened. Never resend it with
    a new request id before looking for its effect in live state (product rule 2)."""

    hint = (
        "The write may or may not have taken effect: it was retried with the same MS-RequestId "
        "without a definite answer. Look for its effect in live state before sending it again."
    )


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
    if status == 403 and code in NO_RELATIONSHIP_CODES:
        return ApiNoRelationship
    if status == 403 and code in APP_ONLY_NOT_SUPPORTED_CODES:
        return ApiNeedsUser
    if status == 401:
        return ApiAuthError
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
