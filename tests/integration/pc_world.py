"""Worlds, certificates and client builders for the client <-> emulator integration tests
(a uniquely named module: test files import it directly, never ``conftest``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from reconciler import model
from reconciler.emulator.server import Emulator
from reconciler.partner_center import client as pc_client
from reconciler.partner_center import config, connect, retrying

PARTNERS = {
    "central": "0f6a1b8e-0000-4000-8000-000000000001",
    "de": "0f6a1b8e-0000-4000-8000-0000000000de",
    "fr": "0f6a1b8e-0000-4000-8000-0000000000f2",
}
OFFERS = (
    "796B6B5F-613C-4E24-A17C-EBA730D49C02",
    "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
    "MS-AZR-0145P",
    "4B244418-9658-4451-A2B8-B5B2B7D1F06E",
)
GITHUB_SUBJECT = "repo:contoso/csp-consolidation:ref:refs/heads/main"
SECRET_PREFIX = "seeded-secret-"


def customer_id(i: int) -> str:
    return f"3f2c6d55-0000-4000-8000-{i:012d}"


def subscription_id(i: int, j: int) -> str:
    return f"5b1e0a40-{j:04d}-4000-8000-{i:012d}"


def make_world(
    customers: int,
    *,
    subs_per_customer: int = 2,
    in_target_every: int = 3,
    cert_pem: str | None = None,
) -> dict[str, Any]:
    """A world: three partners; customer i belongs to ``de`` or ``fr`` (alternating) and every
    ``in_target_every``-th one has also accepted the central tenant's invitation."""
    partners = []
    for name, tid in PARTNERS.items():
        app: dict[str, Any] = {
            "clientId": f"00000000-0000-4000-8000-0000000a{list(PARTNERS).index(name):04d}",
            "clientSecret": f"{SECRET_PREFIX}{name}",
            "publicClientId": f"00000000-0000-4000-8000-0000000b{list(PARTNERS).index(name):04d}",
            "federatedCredentials": [{"issuer": "github", "subject": GITHUB_SUBJECT}],
        }
        if cert_pem:
            app["certificates"] = [cert_pem]
        partners.append({"name": name, "tenantId": tid, "country": "DE", "apps": [app]})
    docs = []
    for i in range(customers):
        source = "de" if i % 2 == 0 else "fr"
        rel = [source] + (["central"] if i % in_target_every == 0 else [])
        subs = [
            {
                "id": subscription_id(i, j),
                "partner": source,
                "offerId": OFFERS[j % len(OFFERS)],
                "quantity": 1 + (i + j) % 20,
            }
            for j in range(subs_per_customer)
        ]
        docs.append(
            {
                "tenantId": customer_id(i),
                "companyName": f"Customer {i}",
                "domain": f"c{i}.onmicrosoft.com",
                "relationships": rel,
                "subscriptions": subs,
            }
        )
    return {
        "format": "reconciler-emulator-world/1",
        "partners": partners,
        "customers": docs,
        "github": {"subject": GITHUB_SUBJECT},
    }


def self_signed() -> tuple[str, str]:
    """(key + certificate PEM, certificate PEM) of a throwaway app certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reconciler-test-app")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem + cert_pem, cert_pem


def consolidation() -> model.Consolidation:
    target = model.Tenant("central", PARTNERS["central"], "IE", model.Role.TARGET)
    sources = tuple(model.Tenant(n, PARTNERS[n], "DE", model.Role.SOURCE) for n in ("de", "fr"))
    return model.Consolidation(
        "test", target, sources, model.Policy(), model.Origin("manifests/consolidation.yaml", 1)
    )


def fast_policy() -> retrying.RetryPolicy:
    # Real (tiny) waits against the real emulator only.
    return retrying.RetryPolicy(
        backoff_base=0.01,
        backoff_max=0.05,
        default_retry_after=0.05,
        max_retry_after=0.2,
        min_throttle_wait=0.01,
    )


def build(
    emu: Emulator, env: dict[str, str], *, tenants: list[str] | None = None, **kw: Any
) -> dict[str, pc_client.PartnerCenterClient]:
    """Clients for ``tenants`` (default: all three) configured from ``emu``'s connection file."""
    cons = consolidation()
    chosen = [t for t in cons.tenants if tenants is None or t.name in tenants]
    conn = config.resolve(chosen, environ=env, connection_path=emu.connection_file)
    kw.setdefault("policy", fast_policy())
    return connect.build_clients(chosen, conn, **kw)
