"""The emulator's in-memory world: partner tenants, apps, customers and what they bought.

Plain mutable records plus the indexes the routes need, and ``new_subscription`` which fills
in the dates and windows a subscription's kind implies (``seeds`` builds worlds from seed
files). It must not render JSON for the API, apply business rules to writes, or do I/O.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator import catalog as cat
from reconciler.emulator.clock import add_term


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
    #: The confirmed acceptances of the Microsoft Customer Agreement (the ``Agreement``
    #: bodies partners posted, or the seed's); empty while the customer has not accepted it.
    agreements: list[dict[str, Any]] = field(default_factory=list)


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
