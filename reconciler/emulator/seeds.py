"""World seeds: read a seed document (YAML or JSON) and build a ``World`` from it.

The format is documented in docs/emulator.md ("Seed format"); dates may be relative to the
emulator clock ("-200d"). This module must not serve requests or change a running world.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import yaml

from reconciler.emulator import catalog as cat
from reconciler.emulator.clock import add_term, parse_moment
from reconciler.emulator.world import (
    App,
    Customer,
    FederatedCredential,
    Partner,
    Subscription,
    User,
    World,
    new_subscription,
)

SEED_FORMAT = "reconciler-emulator-world/1"


def read_seed(source: Path | str | dict[str, Any]) -> dict[str, Any]:
    """Read a seed document from a YAML/JSON file path or pass a dict through."""
    if isinstance(source, dict):
        return source
    path = Path(source)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        doc = json.loads(text)
    else:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        doc = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: a world seed must be a mapping")
    return doc


def load_world(doc: dict[str, Any], *, now: dt.datetime, github_issuer: str) -> World:
    """Build a World from a seed document; relative dates are taken from ``now``."""
    fmt = doc.get("format", SEED_FORMAT)
    if fmt != SEED_FORMAT:
        raise ValueError(f"unsupported world format {fmt!r} (expected {SEED_FORMAT})")
    partners = {}
    for raw in doc.get("partners", []):
        partner = _partner(raw, github_issuer)
        partners[partner.tenant_id.lower()] = partner
    world = World(
        partners=partners,
        customers={},
        catalog=cat.Catalog(doc.get("catalog")),
        github_subject=str(
            doc.get("github", {}).get(
                "subject", "repo:contoso/csp-consolidation:ref:refs/heads/main"
            )
        ),
    )
    for raw in doc.get("customers", []):
        _customer(world, raw, now)
    return world


def _partner(raw: dict[str, Any], github_issuer: str) -> Partner:
    tid = str(raw["tenantId"])
    partner = Partner(
        name=str(raw["name"]),
        tenant_id=tid,
        country=str(raw.get("country", "US")),
        company_name=str(raw.get("companyName", raw["name"])),
        domain=str(raw.get("domain", f"{raw['name']}csp.onmicrosoft.com")),
        mpn_id=str(raw.get("mpnId", "1" + tid.replace("-", "")[-6:].translate(_DIGITS))),
        currency=str(raw.get("currency", "EUR" if raw.get("country") != "US" else "USD")),
    )
    for app in raw.get("apps", []):
        fed = [
            FederatedCredential(
                # "github" names the emulator's own GitHub OIDC stand-in (docs/emulator.md).
                issuer=github_issuer if f.get("issuer", "github") == "github" else f["issuer"],
                subject=str(f["subject"]),
                audience=str(f.get("audience", "api://AzureADTokenExchange")),
            )
            for f in app.get("federatedCredentials", [])
        ]
        partner.apps.append(
            App(
                client_id=str(app["clientId"]),
                tenant_id=tid,
                secret=app.get("clientSecret"),
                certificates=list(app.get("certificates", [])),
                federated=fed,
            )
        )
        if app.get("publicClientId"):
            partner.apps.append(
                App(client_id=str(app["publicClientId"]), tenant_id=tid, public=True)
            )
    for user in raw.get("users", [{"upn": f"admin@{partner.domain}"}]):
        partner.users.append(
            User(
                upn=str(user["upn"]),
                object_id=str(user.get("objectId", uuid.uuid4())),
                display_name=str(user.get("displayName", user["upn"].split("@")[0])),
            )
        )
    return partner


_DIGITS = str.maketrans("abcdef", "123456")


def _customer(world: World, raw: dict[str, Any], now: dt.datetime) -> None:
    cid = str(raw["tenantId"])
    customer = Customer(
        tenant_id=cid,
        company_name=str(raw["companyName"]),
        domain=str(raw.get("domain", "")),
        country=str(raw.get("country", "US")),
        commerce_id=str(raw.get("commerceId", uuid.uuid5(uuid.NAMESPACE_URL, cid))),
    )
    if raw.get("mcaAccepted", True):
        # Seeded customers accepted the Microsoft Customer Agreement a year before the load.
        customer.agreements.append(
            agreement_record(customer, date=(now - dt.timedelta(days=365)).date().isoformat())
        )
    world.customers[cid.lower()] = customer
    for ref in raw.get("relationships", []):
        partner = _need_partner(world, ref, cid)
        world.relate(customer, partner.tenant_id.lower(), now)
    for ref in raw.get("invitations", []):
        customer.invitations.add(_need_partner(world, ref, cid).tenant_id.lower())
    for sub in raw.get("subscriptions", []):
        world.add_subscription(_subscription(world, customer, sub, now))


def _need_partner(world: World, ref: object, where: str) -> Partner:
    partner = world.partner(str(ref))
    if partner is None:
        raise ValueError(f"customer {where}: unknown partner {ref!r}")
    return partner


def _subscription(
    world: World, customer: Customer, raw: dict[str, Any], now: dt.datetime
) -> Subscription:
    partner = _need_partner(world, raw["partner"], customer.tenant_id)
    offering = world.catalog.resolve(str(raw["offerId"]))
    if offering is None:
        raise ValueError(f"subscription {raw.get('id')}: offer {raw['offerId']} not in catalog")
    created = parse_moment(raw.get("created", "now"), now=now)
    sub = new_subscription(
        offering,
        partner_id=partner.tenant_id.lower(),
        customer_id=customer.tenant_id.lower(),
        created=created,
        quantity=int(raw.get("quantity", 1)),
        billing_cycle=str(raw.get("billingCycle", "")),
        term=str(raw.get("termDuration", "")),
        friendly_name=str(raw.get("friendlyName", offering.name)),
        status=str(raw.get("status", "active")),
        sub_id=str(raw.get("id", uuid.uuid4())),
        auto_renew=raw.get("autoRenewEnabled"),
        order_id=str(raw.get("orderId", "")),
        entitlement_id=str(raw.get("entitlementId", "")),
    )
    _roll_to_current_term(sub, now)
    return sub


def _roll_to_current_term(sub: Subscription, now: dt.datetime) -> None:
    """Seeded terms that ended before ``now`` have renewed: show the current term."""
    if sub.offering.is_azure or not sub.term_duration:
        return
    while sub.end < now:
        sub.start = sub.end + dt.timedelta(days=1)
        sub.end = add_term(sub.start, sub.term_duration)
        if sub.offering.is_nce:
            sub.cancel_until = sub.start + dt.timedelta(days=7)
            sub.refundable = [(sub.quantity, sub.cancel_until)]


#: Microsoft's template id of the Microsoft Customer Agreement in its examples.
MCA_TEMPLATE_ID = "117a77b0-9360-443b-8795-c6dedc750cf9"


def agreement_record(
    customer: Customer, *, date: str, contact: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An ``Agreement`` resource confirming ``customer``'s acceptance of the MCA."""
    name = customer.domain.split(".")[0] or "admin"
    return {
        "primaryContact": contact
        or {
            "firstName": "Global",
            "lastName": "Admin",
            "email": f"admin@{customer.domain or name + '.onmicrosoft.com'}",
            "phoneNumber": "",
        },
        "templateId": MCA_TEMPLATE_ID,
        "dateAgreed": date,
        "type": "MicrosoftCustomerAgreement",
        "agreementLink": "https://aka.ms/customeragreement",
        "attributes": {"objectType": "Agreement"},
    }
