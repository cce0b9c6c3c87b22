"""Client authentication checks of the token service: client secrets, certificate-signed
client assertions, federated (workload identity) assertions, app lookup and scope validation.

Expiry here is real (wall) time, as in Entra. This module must not issue tokens.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.emulator.protocol import OAuthFault
from reconciler.emulator.world import App, World

PC_RESOURCE = "https://api.partnercenter.microsoft.com"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ALGS = ["RS256", "PS256"]


def check_federated(app: App, assertion: str, key: rsa.RSAPublicKey, issuer: str) -> None:
    """Accept a workload-identity assertion matching one of the app's federated credentials."""
    for cred in app.federated:
        if cred.issuer != issuer:
            continue
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=_ALGS,
                audience=cred.audience,
                issuer=cred.issuer,
            )
        except jwt.ExpiredSignatureError as exc:
            raise OAuthFault(
                400,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.",
            ) from exc
        except jwt.PyJWTError:
            continue
        if claims.get("sub") == cred.subject:
            return
    raise OAuthFault(
        400,
        "invalid_client",
        70021,
        "No matching federated identity record found for presented assertion.",
    )


def check_certificate(app: App, assertion: str, endpoint: str) -> None:
    """Accept a client assertion signed by one of the app's registered certificates."""
    header = jwt.get_unverified_header(assertion)
    for pem in app.certificates:
        cert = x509.load_pem_x509_certificate(pem.encode())
        der = cert.public_bytes(encoding=Encoding.DER)
        thumbs = {
            "x5t": base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("="),  # noqa: S324 - x5t is SHA-1 by spec
            "x5t#S256": base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("="),
        }
        # MSAL pads the base64url thumbprint, the spec does not: compare unpadded.
        if any(
            name in header and str(header[name]).rstrip("=") != value
            for name, value in thumbs.items()
        ):
            continue
        now = dt.datetime.now(dt.UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise OAuthFault(401, "invalid_client", 700027, "The certificate has expired.")
        try:
            claims = jwt.decode(
                assertion,
                cert.public_key(),  # type: ignore[arg-type]
                algorithms=_ALGS,
                audience=endpoint,
                options={"require": ["exp", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise OAuthFault(
                401,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.",
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise OAuthFault(
                401, "invalid_client", 700016, f"Client assertion audience must be {endpoint}."
            ) from exc
        except jwt.PyJWTError as exc:
            raise OAuthFault(
                401, "invalid_client", 700027, "Client assertion failed signature validation."
            ) from exc
        if claims.get("iss") != app.client_id or claims.get("sub", app.client_id) != app.client_id:
            raise OAuthFault(
                401,
                "invalid_client",
                700023,
                "Client assertion issuer/subject must be the client id.",
            )
        return
    raise OAuthFault(
        401,
        "invalid_client",
        700027,
        "Client assertion contains an invalid signature (no registered certificate matches).",
    )


def app_in(world: World, tenant_id: str, client_id: str) -> App:
    """The app registration ``client_id`` of ``tenant_id`` (or ``unauthorized_client``)."""
    app = world.app(client_id)
    if app is None or app.tenant_id.lower() != tenant_id:
        raise OAuthFault(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the "
            f"directory '{tenant_id}'.",
        )
    return app


def scopes(raw: str, *, delegated: bool) -> list[str]:
    """The requested scopes, if they name the Partner Center resource correctly."""
    scopes = raw.split()
    resource = [s for s in scopes if s.lower().startswith(PC_RESOURCE + "/")]
    wanted = ("/user_impersonation", "/.default") if delegated else ("/.default",)
    if not resource or not all(s.lower().endswith(wanted) for s in resource):
        raise OAuthFault(
            400,
            "invalid_scope",
            70011,
            f"The provided value for scope '{raw}' is not valid here; use "
            f"{PC_RESOURCE}/{'user_impersonation' if delegated else '.default'}.",
        )
    return scopes


def authenticate(
    app: App,
    form: dict[str, str],
    endpoint: str,
    *,
    github_key: rsa.RSAPublicKey,
    github_issuer: str,
) -> None:
    """Check a confidential client's credential in a token request ``form``: its client
    secret, or a client assertion (federated when issued by ``github_issuer``, else signed by
    one of the app's certificates for ``endpoint``). Raises ``OAuthFault``."""
    if "client_secret" in form:
        if app.secret is None or not hmac.compare_digest(
            form["client_secret"].encode(), app.secret.encode()
        ):
            raise OAuthFault(401, "invalid_client", 7000215, "Invalid client secret provided.")
        return
    assertion = form.get("client_assertion", "")
    if not assertion or form.get("client_assertion_type") != ASSERTION_TYPE:
        raise OAuthFault(
            401,
            "invalid_client",
            7000218,
            "The request body must contain 'client_assertion' or 'client_secret'.",
        )
    try:
        issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError as exc:
        raise OAuthFault(401, "invalid_client", 50027, "Invalid JWT token.") from exc
    if issuer == github_issuer:
        check_federated(app, assertion, github_key, github_issuer)
    else:
        check_certificate(app, assertion, endpoint)
