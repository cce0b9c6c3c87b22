"""Request/response values shared by the emulator's routes, and Partner Center's error shapes.

Routes receive a ``Request`` and return a ``Response`` (or raise ``ApiFault``); the server
module turns those into bytes. This module must not touch sockets or world state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, from a verified access token."""

    tenant_id: str  # lower-case partner tenant id (the token's tid)
    client_id: str
    app_only: bool
    user: str = ""


@dataclass(slots=True)
class Request:
    """One parsed HTTP request; ``query`` keys are lower-cased (ASP.NET binds them so)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    principal: Principal | None = None
    request_id: str = ""

    def header(self, name: str, default: str = "") -> str:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The body as JSON with every object key lower-cased (any case is accepted on input)."""
        if not self.body.strip():
            return {}
        try:
            return lower_keys(json.loads(self.body))
        except ValueError as exc:
            raise ApiFault(400, 0, f"The request body is not valid JSON: {exc}") from exc

    def raw_json(self) -> Any:
        """The body as JSON with its keys as sent (control calls carrying seed documents)."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ValueError(f"the request body is not valid JSON: {exc}") from exc

    def form(self) -> dict[str, str]:
        """The body as an application/x-www-form-urlencoded form."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass(slots=True)
class Response:
    """What a route answers; ``body`` None means no body."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # pre-encoded body (replays)

    def encode(self) -> bytes:
        """The body bytes (JSON, compact)."""
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode()


class ApiFault(Exception):
    """A Partner Center error: ``{"code", "description", "data", "source": "PartnerFD"}``."""

    def __init__(
        self, status: int, code: int, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description
        self.headers = headers or {}

    def response(self) -> Response:
        """The documented error body."""
        body = {
            "code": self.code,
            "description": self.description,
            "data": [],
            "source": "PartnerFD",
        }
        return Response(self.status, body, dict(self.headers))


class OAuthFault(Exception):
    """An Entra token-service error: ``{"error", "error_description", "error_codes"}``."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.aadsts, self.description = status, error, aadsts, description

    def response(self) -> Response:
        """The OAuth 2.0 error body Entra returns."""
        return Response(
            self.status,
            {
                "error": self.error,
                "error_description": f"AADSTS{self.aadsts}: {self.description}",
                "error_codes": [self.aadsts],
            },
        )


def lower_keys(value: Any) -> Any:
    """Recursively lower-case dict keys so lookups are case-insensitive."""
    if isinstance(value, dict):
        return {str(k).lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


def throttled(seconds: int) -> Response:
    """The distinct 429 body and ``Retry-After`` header (docs §6)."""
    seconds = max(1, int(seconds))
    body = {
        "statusCode": 429,
        "message": f"Rate limit is exceeded. Try again in {seconds} seconds.",
    }
    return Response(429, body, {"Retry-After": str(seconds)})


def collection(items: list[Any], self_uri: str, **links: Any) -> dict[str, Any]:
    """The documented collection envelope; ``totalCount`` is the size of this page."""
    envelope_links = {"self": {"uri": self_uri, "method": "GET", "headers": []}}
    envelope_links.update({k: v for k, v in links.items() if v is not None})
    return {
        "totalCount": len(items),
        "items": items,
        "links": envelope_links,
        "attributes": {"objectType": "Collection"},
    }


#: A module's routes: (method, path pattern with {name} groups, handler).
RouteTable = list[tuple[str, str, Callable[..., Response]]]
