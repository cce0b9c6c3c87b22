"""Token flows as MSAL performs them, and how the API checks the tokens it gets."""

from __future__ import annotations

import datetime as dt
import hashlib

import jwt
import msal
import pytest
import requests
from conftest import APP_SCOPE, CENTRAL, DE, PC, USER_SCOPE, World
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _cert(days_valid: int = 30) -> tuple[str, str, str]:
    """(private key PEM, certificate PEM, SHA-1 thumbprint hex) of a self-signed app cert."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emulator-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=60))
        .not_valid_after(now + dt.timedelta(days=days_valid))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return (
        key_pem,
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        hashlib.sha1(der).hexdigest(),
    )


def _claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def test_client_secret_gives_an_app_only_token_for_the_partner_tenant(world: World) -> None:
    result = world.confidential("de").acquire_token_for_client(scopes=APP_SCOPE)
    claims = _claims(result["access_token"])
    assert claims["tid"] == DE and claims["aud"] == PC and claims["idtyp"] == "app"
    assert "roles" in claims and "scp" not in claims
    assert claims["exp"] > dt.datetime.now(dt.UTC).timestamp() + 3000


def test_wrong_secret_is_refused_with_the_entra_error(world: World) -> None:
    result = world.confidential("de", "not-the-secret").acquire_token_for_client(scopes=APP_SCOPE)
    assert result["error"] == "invalid_client"
    assert "AADSTS7000215" in result["error_description"]


def test_token_signatures_verify_against_the_published_keys(world: World) -> None:
    token = world.app_token("fr")
    config = world.session.get(f"{world.authority('fr')}/v2.0/.well-known/openid-configuration")
    keys = world.session.get(config.json()["jwks_uri"]).json()
    key = jwt.PyJWK(keys["keys"][0])
    assert jwt.decode(token, key.key, algorithms=["RS256"], audience=PC)["tid"].endswith("f2")


def test_a_registered_certificate_authenticates_and_an_unknown_one_does_not(
    world: World,
) -> None:
    key_pem, cert_pem, thumb = _cert()
    credential = {"private_key": key_pem, "thumbprint": thumb}
    refused = world.confidential("central", credential).acquire_token_for_client(scopes=APP_SCOPE)
    assert refused["error"] == "invalid_client"
    world.control(
        "POST",
        "/certificates",
        {"clientId": world.tenant("central")["clientId"], "certificate": cert_pem},
    )
    result = world.confidential("central", credential).acquire_token_for_client(scopes=APP_SCOPE)
    assert "access_token" in result, result
    assert _claims(result["access_token"])["tid"] == CENTRAL


def test_sha256_certificate_assertions_are_verified_too(world: World) -> None:
    key_pem, cert_pem, _ = _cert()
    world.control(
        "POST",
        "/certificates",
        {"clientId": world.tenant("de")["clientId"], "certificate": cert_pem},
    )
    # public_certificate makes MSAL sign with PS256 and an x5t#S256 header.
    credential = {"private_key": key_pem, "public_certificate": cert_pem}
    result = world.confidential("de", credential).acquire_token_for_client(scopes=APP_SCOPE)
    assert "access_token" in result, result


def test_an_assertion_for_another_audience_or_expired_is_refused(world: World) -> None:
    key_pem, cert_pem, _ = _cert()
    client_id = world.tenant("de")["clientId"]
    world.control("POST", "/certificates", {"clientId": client_id, "certificate": cert_pem})
    now = int(dt.datetime.now(dt.UTC).timestamp())
    token_url = f"{world.authority('de')}/oauth2/v2.0/token"
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    cases = {
        "https://login.microsoftonline.com/x/oauth2/v2.0/token": now + 300,  # wrong audience
        token_url: now - 60,  # expired
    }
    for audience, exp in cases.items():
        assertion = jwt.encode(
            {
                "aud": audience,
                "iss": client_id,
                "sub": client_id,
                "exp": exp,
                "nbf": now - 600,
                "jti": str(now),
            },
            key,
            algorithm="RS256",
        )
        reply = world.session.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "scope": APP_SCOPE[0],
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        )
        assert reply.status_code == 401 and reply.json()["error"] == "invalid_client", audience


def test_an_expired_certificate_is_refused(world: World) -> None:
    key_pem, cert_pem, thumb = _cert(days_valid=-1)
    world.control(
        "POST",
        "/certificates",
        {"clientId": world.tenant("fr")["clientId"], "certificate": cert_pem},
    )
    result = world.confidential(
        "fr", {"private_key": key_pem, "thumbprint": thumb}
    ).acquire_token_for_client(scopes=APP_SCOPE)
    assert result["error"] == "invalid_client"
    assert "expired" in result["error_description"]


def test_github_oidc_token_works_as_a_federated_client_assertion(world: World) -> None:
    gh = world.conn["githubOidc"]
    reply = world.session.get(
        gh["requestUrl"],
        params={"audience": "api://AzureADTokenExchange"},
        headers={"Authorization": f"bearer {gh['requestToken']}"},
    )
    assert reply.status_code == 200
    assertion = reply.json()["value"]
    assert _claims(assertion)["sub"] == gh["subject"]
    result = world.confidential(
        "de", {"client_assertion": lambda: assertion}
    ).acquire_token_for_client(scopes=APP_SCOPE)
    assert _claims(result["access_token"])["tid"] == DE


def test_github_oidc_needs_the_request_token(world: World) -> None:
    reply = world.session.get(
        world.conn["githubOidc"]["requestUrl"], headers={"Authorization": "bearer wrong"}
    )
    assert reply.status_code == 401


def test_a_federated_assertion_with_an_untrusted_subject_or_audience_is_refused(
    world: World,
) -> None:
    gh = world.conn["githubOidc"]
    auth = {"Authorization": f"bearer {gh['requestToken']}"}
    for params in (
        {"audience": "api://AzureADTokenExchange", "subject": "repo:evil/fork:ref"},
        {"audience": "api://SomethingElse"},
    ):
        assertion = world.session.get(gh["requestUrl"], params=params, headers=auth).json()
        result = world.confidential(
            "de", {"client_assertion": lambda value=assertion["value"]: value}
        ).acquire_token_for_client(scopes=APP_SCOPE)
        assert result["error"] == "invalid_client"
        assert "AADSTS70021" in result["error_description"]


def test_device_code_sign_in_waits_for_approval_then_gives_a_delegated_token(
    world: World,
) -> None:
    app = world.public("central")
    flow = app.initiate_device_flow(scopes=USER_SCOPE)
    assert flow["user_code"] and flow["interval"] >= 1
    pending = app.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert pending["error"] == "authorization_pending"
    upn = world.control("POST", "/device/approve", {"userCode": flow["user_code"]})["upn"]
    result = app.acquire_token_by_device_flow(flow)
    claims = _claims(result["access_token"])
    assert claims["scp"] == "user_impersonation" and claims["upn"] == upn
    assert claims["tid"] == CENTRAL and "roles" not in claims
    assert result["refresh_token"]


def test_a_refresh_token_is_redeemed_without_user_interaction(world: World) -> None:
    app = world.public("de")
    flow = app.initiate_device_flow(scopes=USER_SCOPE)
    world.control("POST", "/device/approve", {"userCode": flow["user_code"]})
    first = app.acquire_token_by_device_flow(flow)
    fresh = msal.PublicClientApplication(
        world.tenant("de")["publicClientId"],
        authority=world.authority("de"),
        instance_discovery=False,
        http_client=world.session,
    )
    again = fresh.acquire_token_by_refresh_token(first["refresh_token"], scopes=USER_SCOPE)
    assert _claims(again["access_token"])["scp"] == "user_impersonation"
    bogus = fresh.acquire_token_by_refresh_token("not-a-refresh-token", scopes=USER_SCOPE)
    assert bogus["error"] == "invalid_grant"


def test_app_plus_user_endpoints_refuse_app_only_tokens_with_900329(world: World) -> None:
    for path in ("/customers/relationshiprequests", "/profiles/organization"):
        reply = world.api("central").get(path)
        assert reply.status_code == 403
        assert reply.json()["code"] == 900329 and reply.json()["source"] == "PartnerFD"


def test_relationship_request_url_carries_the_inviting_partner(world: World) -> None:
    reply = world.api("central", delegated=True).get("/customers/relationshiprequests")
    assert reply.status_code == 200
    body = reply.json()
    assert body["attributes"]["objectType"] == "RelationshipRequest"
    assert f"partnerId={CENTRAL}" in body["url"]
    profile = world.api("central", delegated=True).get("/profiles/organization").json()
    assert profile["tenantId"] == CENTRAL and profile["companyName"] == "Contoso EMEA Central CSP"


@pytest.mark.parametrize(
    ("token_kind", "code"),
    [("missing", 800001), ("garbage", 400), ("expired", 400), ("graph-audience", 900420)],
)
def test_bad_tokens_get_401_in_the_partnerfd_shape(
    world: World, token_kind: str, code: int
) -> None:
    headers = {}
    if token_kind == "garbage":
        headers["Authorization"] = "Bearer abc.def.ghi"
    elif token_kind == "expired":
        headers["Authorization"] = "Bearer " + world.emu.control.mint_token("de", lifetime=-30)
    elif token_kind == "graph-audience":
        headers["Authorization"] = "Bearer " + world.emu.control.mint_token(
            "de", audience="https://graph.windows.net"
        )
    reply = world.session.get(f"{world.emu.url}/v1/customers", headers=headers)
    assert reply.status_code == 401
    assert reply.json()["code"] == code and reply.json()["source"] == "PartnerFD"
    assert "WWW-Authenticate" in reply.headers


def test_unknown_tenant_and_client_are_refused_by_the_token_endpoint(world: World) -> None:
    url = f"{world.emu.url}/11111111-2222-4333-8444-555555555555/oauth2/v2.0/token"
    reply = world.session.post(url, data={"grant_type": "client_credentials"})
    assert reply.status_code == 400 and "AADSTS90002" in reply.json()["error_description"]
    reply = world.session.post(
        f"{world.authority('de')}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": world.tenant("fr")["clientId"],
            "client_secret": world.tenant("fr")["clientSecret"],
            "scope": APP_SCOPE[0],
        },
    )
    assert reply.json()["error"] == "unauthorized_client"


def test_https_is_real_and_the_ca_bundle_is_needed(world: World) -> None:
    plain = requests.Session()
    plain.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        plain.get(f"{world.emu.url}/_emulator/health", verify=True, timeout=5)
    assert world.session.get(f"{world.emu.url}/_emulator/health").json()["ok"] is True
