"""The values that cross the write port (``applying.ports.Writer``), in the model's words.

They live in the shared bottom layer so that both sides of the port can build them: the
executor (``reconciler.applying``) asks with them and the Partner Center adapter
(``reconciler.partner_center.writer``) answers with them, without either importing the other.
The port speaks model types only: statuses are ``model.SubscriptionStatus``, a change to a
subscription is a ``SubscriptionPatch``; the wire field names behind them are known to
``reconciler.partner_center`` alone. This module must NOT do I/O nor import anything above the
bottom layer.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from reconciler.model import SubscriptionStatus


@dataclass(frozen=True, slots=True)
class Sub:
    """A subscription as freshly read right before a write (only what the checks need)."""

    id: str
    offer_id: str
    friendly_name: str
    quantity: int
    status: SubscriptionStatus
    auto_renew: bool = False
    cancellation_allowed_until: datetime | None = None
    billing_cycle: str = ""


#: Statuses a subscription does not come back from by itself.
GONE = frozenset(
    {SubscriptionStatus.DELETED, SubscriptionStatus.EXPIRED, SubscriptionStatus.DISABLED}
)


class OrderChannel(enum.StrEnum):
    """How a subscription is ordered: a cart and its checkout (new commerce) or an order
    (legacy offers)."""

    CART = "cart"
    ORDER = "order"


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """One subscription to order in the target. ``friendly_name`` carries the planner's marker."""

    offer_id: str
    quantity: int
    billing_cycle: str
    term_duration: str | None
    friendly_name: str
    channel: OrderChannel


@dataclass(frozen=True, slots=True)
class Ordered:
    """What an order (or cart checkout) returned: the order id and, when already known, the
    subscription id it created."""

    order_id: str | None
    subscription_id: str | None


@dataclass(frozen=True, slots=True)
class SubscriptionPatch:
    """The fields of one subscription a write changes; ``None`` leaves a field as it is."""

    status: SubscriptionStatus | None = None
    quantity: int | None = None
    auto_renew: bool | None = None

    def describe(self) -> str:
        """``status -> suspended``, ``quantity -> 30``, ``auto_renew -> False``: for step lines."""
        fields: tuple[tuple[str, object], ...] = (
            ("status", self.status),
            ("quantity", self.quantity),
            ("auto_renew", self.auto_renew),
        )
        return ", ".join(f"{name} -> {value}" for name, value in fields if value is not None)


@dataclass(frozen=True, slots=True)
class AgreementSpec:
    """The customer's acceptance of the Microsoft Customer Agreement to record in a tenant:
    who at the customer accepted it and the day (``YYYY-MM-DD``)."""

    first_name: str
    last_name: str
    email: str
    phone_number: str
    date_agreed: str


@dataclass(frozen=True, slots=True)
class AgreementRecorded:
    """What recording an acceptance did: the agreement template it confirmed and whether
    Partner Center already held the same confirmation (so nothing new was created)."""

    template_id: str
    already: bool = False


def cart_request_id(request_id: str) -> str:
    """The MS-RequestId of the cart a cart-channel order creates before its checkout (which
    carries ``request_id``): derived, so a resend of the same logical order reuses the same
    cart request too, and the journal can record both ids before anything is sent."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{request_id}/cart"))
