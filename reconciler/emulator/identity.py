"""The Entra ID stand-in: signing keys, the v2.0 token endpoint grants, device codes,
refresh tokens, client-assertion checks and access-token verification for the API.

Token *expiry* uses real (wall) time, like Entra and MSAL's cache; business rules use the
emulator clock. Secrets and tokens are never logged. This module must not serve HTTP or touch
customer state; ``oauth`` maps it onto routes.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from reconciler.emulator import assertions
from reconciler.emulator.protocol import ApiFault, OAuthFault, Principal
from reconciler.emulator.world import App, World

PC_RESOURCE = assertions.PC_RESOURCE
ASSERTION_TYPE = assertions.ASSERTION_TYPE
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(slots=True)
class _DeviceGrant:
    tenant_id: str
    client_id: str
    scopes: list[str]
    user_code: str
    expires: float
    upn: str = ""  # set when approved
    object_id: str = ""


@dataclass(slots=True)
class _RefreshGrant:
    tenant_id: str
    client_id: str
    upn: str
    object_id: str
    scopes: list[str]
    expires: float


@dataclass(slots=True)
class Identity:
    """Keys and grant state of the token service for one emulator run."""

    base_url: str
    token_lifetime: int = 3600
    _key: rsa.RSAPrivateKey = field(init=False)
    _github_key: rsa.RSAPrivateKey = field(init=False)
    kid: str = field(init=False)
    github_request_token: str = field(init=False)
    _devices: dict[str, _DeviceGrant] = field(default_factory=dict)
    _refresh: dict[str, _RefreshGrant] = field(default_factory=dict)
    _verified: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._github_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:16]
        self.github_request_token = secrets.token_urlsafe(24)

    # -- discovery ------------------------------------------------------------------------

    @property
    def github_issuer(self) -> str:
        """The issuer of the GitHub OIDC stand-in's tokens."""
        return f"{self.base_url}/_emulator/github-oidc"

    def issuer(self, tenant_id: str) -> str:
        """The v2.0 issuer of a tenant."""
        return f"{self.base_url}/{tenant_id}/v2.0"

    def openid_configuration(self, segment: str, tenant_id: str) -> dict[str, Any]:
        """The document MSAL reads from ``{authority}/v2.0/.well-known/openid-configuration``."""
        root = f"{self.base_url}/{segment}"
        return {
            "issuer": self.issuer(tenant_id),
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
        }

    def jwks(self) -> dict[str, Any]:
        """The public signing key set."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    # -- minting --------------------------------------------------------------------------

    def mint(
        self,
        tenant_id: str,
        client_id: str,
        *,
        app_only: bool,
        upn: str = "",
        object_id: str = "",
        lifetime: int | None = None,
        audience: str = PC_RESOURCE,
    ) -> str:
        """An access token for the API (also used by tests for expired/foreign tokens)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.issuer(tenant_id),
            "tid": tenant_id,
            "appid": client_id,
            "azp": client_id,
            "iat": now,
            "nbf": now - 5,
            "exp": now + (self.token_lifetime if lifetime is None else lifetime),
            "ver": "2.0",
            "uti": uuid.uuid4().hex,
        }
        if app_only:
            claims.update(
                {
                    "idtyp": "app",
                    "roles": ["PartnerCenter.Access"],
                    "oid": client_id,
                    "sub": client_id,
                }
            )
        else:
            claims.update(
                {
                    "idtyp": "user",
                    "scp": "user_impersonation",
                    "upn": upn,
                    "oid": object_id,
                    "sub": object_id,
                    "amr": ["pwd", "mfa"],
                }
            )
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def github_token(self, audience: str, subject: str) -> str:
        """A workload identity JWT like GitHub Actions' OIDC tokens, signed by our issuer."""
        now = int(time.time())
        claims = {
            "iss": self.github_issuer,
            "aud": audience,
            "sub": subject,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "repository": subject.split(":")[1] if subject.count(":") > 1 else "",
        }
        return jwt.encode(claims, self._github_key, algorithm="RS256")

    # -- the API side ---------------------------------------------------------------------

    def principal(self, authorization: str, world: World) -> Principal:
        """Verify a ``Bearer`` token for the API; 401 on anything wrong."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiFault(401, 800001, "Partner token is missing from the request.", _CHALLENGE)
        claims = self._verified.get(token)
        if claims is None or claims["exp"] <= time.time():
            claims = self._verify(token.strip())
        tid = str(claims.get("tid", "")).lower()
        if tid not in world.partners:
            raise ApiFault(401, 400, f"Tenant {tid} is not a Partner Center account.", _CHALLENGE)
        return Principal(
            tenant_id=tid,
            client_id=str(claims.get("appid", "")),
            app_only="scp" not in claims,
            user=str(claims.get("upn", "")),
        )

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["exp", "tid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiFault(
                401, 400, "Access denied: the access token has expired.", _CHALLENGE
            ) from exc
        except jwt.PyJWTError as exc:
            raise ApiFault(
                401, 400, "Access denied: the access token is invalid.", _CHALLENGE
            ) from exc
        if str(claims.get("aud", "")).rstrip("/") != PC_RESOURCE:
            raise ApiFault(401, 900420, "Invalid or unsupported token audience.", _CHALLENGE)
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    # -- the token endpoint ---------------------------------------------------------------

    def device_code(self, world: World, tenant_id: str, form: dict[str, str]) -> dict[str, Any]:
        """Start a device-code sign-in (``/oauth2/v2.0/devicecode``)."""
        app = assertions.app_in(world, tenant_id, form.get("client_id", ""))
        scopes = assertions.scopes(form.get("scope", ""), delegated=True)
        code, user_code = secrets.token_urlsafe(32), secrets.token_hex(4).upper()
        with self._lock:
            self._devices[code] = _DeviceGrant(
                tenant_id, app.client_id, scopes, user_code, time.time() + 900
            )
        return {
            "device_code": code,
            "user_code": user_code,
            "expires_in": 900,
            "interval": 1,
            "verification_uri": f"{self.base_url}/_emulator/device",
            "message": f"To sign in, approve code {user_code} (emulator: POST "
            f"{self.base_url}/_emulator/device/approve).",
        }

    def approve_device(self, world: World, user_code: str, upn: str = "") -> str:
        """Approve a pending device code as ``upn`` (default: the tenant's first user)."""
        with self._lock:
            grant = next(
                (
                    g
                    for g in self._devices.values()
                    if g.user_code.upper() == user_code.strip().upper()
                ),
                None,
            )
        if grant is None:
            raise KeyError(f"no pending device code {user_code!r}")
        partner = world.partners[grant.tenant_id]
        user = next((u for u in partner.users if not upn or u.upn.lower() == upn.lower()), None)
        if user is None:
            raise KeyError(f"no user {upn!r} in partner tenant {partner.name}")
        grant.upn, grant.object_id = user.upn, user.object_id
        return user.upn

    def token(
        self, world: World, segment: str, tenant_id: str, form: dict[str, str]
    ) -> dict[str, Any]:
        """Answer a ``/oauth2/v2.0/token`` POST (raises ``OAuthFault``)."""
        grant = form.get("grant_type", "")
        app = assertions.app_in(world, tenant_id, form.get("client_id", ""))
        endpoint = f"{self.base_url}/{segment}/oauth2/v2.0/token"
        if grant == "client_credentials":
            if app.public:
                raise OAuthFault(
                    400,
                    "unauthorized_client",
                    700025,
                    "Client is public so neither 'client_assertion' nor "
                    "'client_secret' should be presented.",
                )
            assertions.authenticate(
                app,
                form,
                endpoint,
                github_key=self._github_key.public_key(),
                github_issuer=self.github_issuer,
            )
            assertions.scopes(form.get("scope", ""), delegated=False)
            return self._answer(tenant_id, app.client_id, app_only=True)
        if not app.public and ("client_secret" in form or "client_assertion" in form):
            assertions.authenticate(
                app,
                form,
                endpoint,
                github_key=self._github_key.public_key(),
                github_issuer=self.github_issuer,
            )
        if grant == DEVICE_GRANT:
            return self._redeem_device(tenant_id, app, form.get("device_code", ""))
        if grant == "refresh_token":
            return self._redeem_refresh(tenant_id, app, form)
        raise OAuthFault(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant}'.",
        )

    def _redeem_device(self, tenant_id: str, app: App, code: str) -> dict[str, Any]:
        grant = self._devices.get(code)
        if grant is None or grant.tenant_id != tenant_id:
            raise OAuthFault(400, "invalid_grant", 70000, "The device code is invalid.")
        if grant.expires < time.time():
            raise OAuthFault(400, "expired_token", 70020, "The device code has expired.")
        if not grant.upn:
            raise OAuthFault(
                400, "authorization_pending", 70016, "The user has not yet approved the sign-in."
            )
        with self._lock:
            self._devices.pop(code, None)
        return self._answer(
            tenant_id,
            app.client_id,
            app_only=False,
            upn=grant.upn,
            object_id=grant.object_id,
            scopes=grant.scopes,
        )

    def _redeem_refresh(self, tenant_id: str, app: App, form: dict[str, str]) -> dict[str, Any]:
        grant = self._refresh.get(form.get("refresh_token", ""))
        if grant is None or grant.tenant_id != tenant_id:
            raise OAuthFault(400, "invalid_grant", 9002313, "Invalid refresh token.")
        if grant.expires < time.time():
            raise OAuthFault(400, "invalid_grant", 700082, "The refresh token has expired.")
        scopes = assertions.scopes(form.get("scope", ""), delegated=True)
        return self._answer(
            tenant_id,
            app.client_id,
            app_only=False,
            upn=grant.upn,
            object_id=grant.object_id,
            scopes=scopes,
        )

    def revoke_refresh_tokens(self) -> int:
        """Invalidate every refresh token (forces a new device-code sign-in)."""
        with self._lock:
            count = len(self._refresh)
            self._refresh.clear()
        return count

    def _answer(
        self,
        tenant_id: str,
        client_id: str,
        *,
        app_only: bool,
        upn: str = "",
        object_id: str = "",
        scopes: list[str] | None = None,
    ) -> dict[str, Any]:
        access = self.mint(tenant_id, client_id, app_only=app_only, upn=upn, object_id=object_id)
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": access,
        }
        if app_only:
            return answer
        refresh = secrets.token_urlsafe(48)
        with self._lock:
            self._refresh[refresh] = _RefreshGrant(
                tenant_id, client_id, upn, object_id, scopes or [], time.time() + 90 * 86400
            )
        now = int(time.time())
        id_token = jwt.encode(
            {
                "iss": self.issuer(tenant_id),
                "aud": client_id,
                "tid": tenant_id,
                "oid": object_id,
                "sub": object_id,
                "preferred_username": upn,
                "name": upn,
                "iat": now,
                "nbf": now,
                "exp": now + self.token_lifetime,
                "ver": "2.0",
            },
            self._key,
            algorithm="RS256",
            headers={"kid": self.kid},
        )
        info = json.dumps({"uid": object_id, "utid": tenant_id}).encode()
        answer.update(
            {
                "scope": f"{PC_RESOURCE}/user_impersonation",
                "refresh_token": refresh,
                "id_token": id_token,
                "client_info": base64.urlsafe_b64encode(info).decode().rstrip("="),
            }
        )
        return answer


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api.partnercenter.microsoft.com"'}
