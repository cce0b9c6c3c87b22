"""What the executor needs from Partner Center, as a ``Protocol`` (the port), plus the plain
values that cross it. Its failures (``OutcomeUnknown``, ``OrderInProgress``, ``WriteRejected``,
``Unreadable``, ``NotFound``) are in ``reconciler.errors``, the one error tree.

The CLI adapts the real client to ``Writer``; unit tests use an in-memory fake. This module
must NOT import ``reconciler.partner_center`` (an import-linter contract) nor do any I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from reconciler import model


@dataclass(frozen=True, slots=True)
class Sub:
    """A subscription as freshly read right before a write (only what the checks need)."""

    id: str
    offer_id: str
    friendly_name: str
    quantity: int
    #: Lower-case Partner Center status: active, pending, suspended, deleted, expired, ...
    status: str
    auto_renew: bool = False
    cancellation_allowed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """One subscription to order in the target. ``friendly_name`` carries the planner's marker."""

    offer_id: str
    quantity: int
    billing_cycle: str
    term_duration: str | None
    friendly_name: str
    #: "cart" (new commerce) or "order" (legacy offers).
    channel: str


@dataclass(frozen=True, slots=True)
class Ordered:
    """What an order (or cart checkout) returned: the order id and, when already known, the
    subscription id it created."""

    order_id: str | None
    subscription_id: str | None


class Writer(Protocol):
    """Reads and writes the executor performs against partner tenants (by short name)."""

    def get_subscription(self, tenant: str, customer_id: str, subscription_id: str) -> Sub:
        """One subscription, freshly read; raises ``NotFound`` when it does not exist."""
        ...

    def list_subscriptions(self, tenant: str, customer_id: str) -> Sequence[Sub]:
        """Every subscription of the customer in the tenant, freshly read."""
        ...

    def find_order_by_name(
        self, tenant: str, customer_id: str, friendly_name: str
    ) -> Ordered | None:
        """An order whose line item carries ``friendly_name`` (the marker), if any."""
        ...

    def order(self, tenant: str, customer_id: str, spec: OrderSpec, *, request_id: str) -> Ordered:
        """Order one subscription (cart + checkout, or order). Raises ``OutcomeUnknown`` when
        the result is unknown and ``WriteRejected`` on a definite refusal."""
        ...

    def update(
        self,
        tenant: str,
        customer_id: str,
        subscription_id: str,
        changes: Mapping[str, object],
        *,
        request_id: str,
    ) -> Sub:
        """Patch wire fields (``status``, ``quantity``, ``autoRenewEnabled``) and return the
        subscription once the change is visible (202 + Location is followed by the adapter)."""
        ...

    def request_transfer(
        self,
        tenant: str,
        customer_id: str,
        source_tenant: str,
        subscription_id: str,
        quantity: int,
        *,
        request_id: str,
    ) -> str:
        """Ask ``source_tenant`` to transfer a subscription to ``tenant``; returns its id."""
        ...

    def list_transfers(
        self, tenant: str, customer_id: str, source_tenant: str
    ) -> Sequence[model.LiveTransfer]:
        """The customer's transfer requests in ``tenant`` (the target) whose source partner is
        ``source_tenant``, freshly read; raises (never returns ``[]``) when unreadable."""
        ...

    def correlation_id(self, tenant: str) -> str:
        """The MS-CorrelationId the adapter sends for ``tenant`` (for the journal)."""
        ...
