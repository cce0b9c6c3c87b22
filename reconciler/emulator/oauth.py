"""HTTP routes of the Entra ID stand-in, per tenant (``/{tenant}/...``), as MSAL calls them:
OpenID discovery, JWKS, the v2.0 token endpoint and the device-code endpoint; plus the
GitHub Actions OIDC stand-in under ``/_emulator/github-oidc``. The tenant path segment may be
the tenant id or its domain. This module must not know about Partner Center resources.
"""

from __future__ import annotations

import hmac
import re

from reconciler.emulator.engine import Engine
from reconciler.emulator.identity import Identity
from reconciler.emulator.protocol import ApiFault, OAuthFault, Request, Response

_ROUTES = [
    (
        "GET",
        re.compile(r"^/(?P<seg>[^/]+)/v2\.0/\.well-known/openid-configuration$", re.I),
        "config",
    ),
    ("GET", re.compile(r"^/(?P<seg>[^/]+)/discovery/v2\.0/keys$", re.I), "keys"),
    ("POST", re.compile(r"^/(?P<seg>[^/]+)/oauth2/v2\.0/token$", re.I), "token"),
    ("POST", re.compile(r"^/(?P<seg>[^/]+)/oauth2/v2\.0/devicecode$", re.I), "device"),
]


def matches(path: str) -> bool:
    """Whether ``path`` is a token-service route."""
    return any(rx.match(path) for _, rx, _ in _ROUTES)


def handle(engine: Engine, identity: Identity, req: Request) -> Response:
    """Serve one token-service request."""
    for method, rx, name in _ROUTES:
        found = rx.match(req.path)
        if found is None:
            continue
        if req.method != method:
            return Response(
                405, {"error": "invalid_request", "error_description": f"{req.method} not allowed"}
            )
        segment = found.group("seg")
        try:
            tenant = _tenant(engine, segment)
            if name == "config":
                return Response(200, identity.openid_configuration(segment, tenant))
            if name == "keys":
                return Response(200, identity.jwks())
            form = req.form()
            with engine.lock:
                if name == "device":
                    return Response(200, identity.device_code(engine.world, tenant, form))
                return Response(200, identity.token(engine.world, segment, tenant, form))
        except OAuthFault as fault:
            return fault.response()
    return Response(404, {"error": "invalid_request", "error_description": "unknown route"})


def _tenant(engine: Engine, segment: str) -> str:
    seg = segment.lower()
    if seg in engine.world.partners:
        return seg
    for tid, partner in engine.world.partners.items():
        if partner.domain.lower() == seg:
            return tid
    raise OAuthFault(
        400,
        "invalid_request",
        90002,
        f"Tenant '{segment}' not found. Check to "
        "make sure you have the correct tenant ID and are signing into the "
        "correct cloud.",
    )


def github_oidc(engine: Engine, identity: Identity, req: Request) -> Response:
    """``GET /_emulator/github-oidc?audience=``: like ``ACTIONS_ID_TOKEN_REQUEST_URL``.

    Needs ``Authorization: bearer <requestToken>`` (the connection file's
    ``githubOidc.requestToken``); answers ``{"value": "<jwt>"}`` as GitHub does.
    """
    scheme, _, token = req.header("Authorization").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), identity.github_request_token.encode()
    ):
        raise ApiFault(
            401, 401, "Unable to get ACTIONS_ID_TOKEN_REQUEST_TOKEN: bad bearer request token."
        )
    audience = req.query.get("audience", "api://AzureADTokenExchange")
    subject = req.query.get("subject", engine.world.github_subject)
    return Response(200, {"count": 1, "value": identity.github_token(audience, subject)})
