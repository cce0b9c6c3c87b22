"""The emulator's in-memory world: partner tenants, apps, customers and what they bought.

Plain mutable records plus the indexes the routes need, and ``load_world`` which builds them
from a seed document (docs/emulator.md, "Seed format"). It must not render JSON for the API,
apply business rules to writes, or do any I/O except reading a seed file.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.emulator import catalog as cat
from reconciler.emulator.clock import add_term, parse_moment

SEED_FORMAT = "reconciler-emulator-world/1"


@dataclass(slots=True)
class FederatedCredential:
    """Trust for a workload identity token (the GitHub OIDC stand-in)."""

    issuer: str
    subject: str
    audience: str = "api://AzureADTokenExchange"


@dataclass(slots=True)
class App:
    """An Entra app registration in one partner tenant."""

    client_id: str
    tenant_id: str
    secret: str | None = None
    public: bool = False
    certificates: list[str] = field(default_factory=list)  # PEM
    federated: list[FederatedCredential] = field(default_factory=list)


@dataclass(slots=True)
class User:
    """A partner user who can approve a device-code sign-in."""

    upn: str
    object_id: str
    display_name: str


@dataclass(slots=True)
class Partner:
    """A partner tenant (a Partner Center account)."""

    name: str
    tenant_id: str
    country: str
    company_name: str
    domain: str
    mpn_id: str
    currency: str
    apps: list[App] = field(default_factory=list)
    users: list[User] = field(default_factory=list)


@dataclass(slots=True)
class Customer:
    """A customer tenant; ``relationships`` maps partner tenant id to when it began."""

    tenant_id: str
    company_name: str
    domain: str
    country: str
    commerce_id: str
    relationships: dict[str, dt.datetime] = field(default_factory=dict)
    invitations: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Subscription:
    """One subscription of one customer, owned (and billed) by one partner tenant."""

    id: str
    customer_id: str
    partner_id: str
    offering: cat.Offering
    friendly_name: str
    quantity: int
    status: str
    billing_cycle: str
    term_duration: str
    auto_renew: bool
    created: dt.datetime
    start: dt.datetime
    end: dt.datetime
    cancel_until: dt.datetime | None
    refundable: list[tuple[int, dt.datetime]] = field(default_factory=list)
    order_id: str = ""
    entitlement_id: str = ""
    version: int = 1
    suspension_reasons: list[str] = field(default_factory=list)
    ready_at: dt.datetime | None = None  # while provisioning (status pending)
    pending_patch: dict[str, Any] | None = None  # deferred change in 202 mode


@dataclass(slots=True)
class OrderLine:
    """One line of an order."""

    number: int
    offer_id: str
    quantity: int
    friendly_name: str
    term_duration: str
    subscription_id: str


@dataclass(slots=True)
class Order:
    """A purchase; ``pending`` until provisioning completes at ``ready_at``."""

    id: str
    customer_id: str
    partner_id: str
    billing_cycle: str
    lines: list[OrderLine]
    status: str
    created: dt.datetime
    ready_at: dt.datetime
    currency: str


@dataclass(slots=True)
class Cart:
    """A new-commerce cart; ``lines`` keep the caller's fields plus our enrichments."""

    id: str
    customer_id: str
    partner_id: str
    lines: list[dict[str, Any]]
    status: str
    created: dt.datetime
    modified: dt.datetime


@dataclass(slots=True)
class Transfer:
    """A partner-to-partner new-commerce transfer request."""

    id: str
    customer_id: str
    source_id: str
    target_id: str
    status: str
    created: dt.datetime
    modified: dt.datetime
    transfer_type: int
    request: dict[str, Any]
    lines: list[dict[str, Any]] = field(default_factory=list)
    completed: dt.datetime | None = None
    ready_at: dt.datetime | None = None


@dataclass(slots=True)
class World:
    """Everything the emulator knows, with lookup indexes (keys are lower-case ids)."""

    partners: dict[str, Partner]
    customers: dict[str, Customer]
    catalog: cat.Catalog
    github_subject: str
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    carts: dict[str, Cart] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    # (partner id, customer id) -> subscription ids in creation order
    by_pair: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # partner id -> customer ids in relationship order (the customers list, seek-paged)
    customer_lists: dict[str, list[str]] = field(default_factory=dict)

    def partner(self, key: str) -> Partner | None:
        """A partner by tenant id or name."""
        key = key.lower()
        found = self.partners.get(key)
        if found is None:
            found = next((p for p in self.partners.values() if p.name.lower() == key), None)
        return found

    def app(self, client_id: str) -> App | None:
        """An app registration by client id, in any tenant."""
        client_id = client_id.lower()
        for partner in self.partners.values():
            for app in partner.apps:
                if app.client_id.lower() == client_id:
                    return app
        return None

    def add_subscription(self, sub: Subscription) -> None:
        """Index a new subscription."""
        self.subscriptions[sub.id.lower()] = sub
        self.by_pair.setdefault((sub.partner_id, sub.customer_id), []).append(sub.id.lower())

    def pair_subscriptions(self, partner_id: str, customer_id: str) -> list[Subscription]:
        """The subscriptions a partner holds for a customer, oldest first."""
        ids = self.by_pair.get((partner_id, customer_id), [])
        return [self.subscriptions[i] for i in ids]

    def relate(self, customer: Customer, partner_id: str, when: dt.datetime) -> bool:
        """Create a reseller relationship; False if it already existed."""
        if partner_id in customer.relationships:
            return False
        customer.relationships[partner_id] = when
        customer.invitations.discard(partner_id)
        self.customer_lists.setdefault(partner_id, []).append(customer.tenant_id.lower())
        return True


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


def new_subscription(
    offering: cat.Offering,
    *,
    partner_id: str,
    customer_id: str,
    created: dt.datetime,
    quantity: int,
    billing_cycle: str,
    term: str,
    friendly_name: str,
    status: str,
    sub_id: str | None = None,
    auto_renew: bool | None = None,
    order_id: str = "",
    entitlement_id: str = "",
) -> Subscription:
    """A subscription with the dates, windows and defaults its kind implies."""
    start = created.replace(hour=0, minute=0, second=0, microsecond=0)
    if offering.is_azure:
        billing_cycle, term, quantity = billing_cycle or "none", "", 1
        end = dt.datetime(9999, 12, 10, tzinfo=dt.UTC)
        cancel_until = None
    else:
        billing_cycle = billing_cycle or "monthly"
        term = term or "P1Y"
        end = add_term(start, term)
        cancel_until = created + dt.timedelta(days=7) if offering.is_nce else None
    refundable = [(quantity, cancel_until)] if cancel_until is not None else []
    return Subscription(
        id=sub_id or str(uuid.uuid4()),
        customer_id=customer_id,
        partner_id=partner_id,
        offering=offering,
        friendly_name=friendly_name,
        quantity=quantity,
        status=status,
        billing_cycle=billing_cycle,
        term_duration=term,
        auto_renew=(not offering.is_azure) if auto_renew is None else bool(auto_renew),
        created=created,
        start=start,
        end=end,
        cancel_until=cancel_until,
        refundable=refundable,
        order_id=order_id or uuid.uuid4().hex[:12],
        entitlement_id=entitlement_id or (str(uuid.uuid4()) if offering.is_azure else ""),
    )
