"""What the executor needs from Partner Center, as a ``Protocol`` (the port).

The values that cross it (``Sub``, ``OrderSpec``, ``Ordered``, ``SubscriptionPatch``) live in
the bottom layer (``reconciler.writes``, re-exported here) and its failures
(``OutcomeUnknown``, ``OrderInProgress``, ``WriteRejected``, ``Unreadable``, ``NotFound``) in
``reconciler.errors``, the one error tree, so that the adapter in
``reconciler.partner_center.writer`` can build and raise them without importing ``applying``.
Unit tests use an in-memory fake. This module must NOT import
``reconciler.partner_center`` (an import-linter contract) nor do any I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from reconciler import model
from reconciler.writes import (
    GONE,
    AgreementRecorded,
    AgreementSpec,
    OrderChannel,
    Ordered,
    OrderSpec,
    Sub,
    SubscriptionPatch,
)

__all__ = [
    "GONE",
    "AgreementRecorded",
    "AgreementSpec",
    "OrderChannel",
    "OrderSpec",
    "Ordered",
    "Sub",
    "SubscriptionPatch",
    "Writer",
]


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
        patch: SubscriptionPatch,
        *,
        request_id: str,
    ) -> Sub:
        """Change the fields ``patch`` names and return the subscription once the change is
        visible (the adapter follows an accepted-but-not-done answer)."""
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
        kinds: Collection[model.CommerceModel] = (model.CommerceModel.NCE_LICENSE,),
    ) -> str:
        """Ask ``source_tenant`` to transfer a subscription to ``tenant``; returns its id.
        ``kinds``: the commerce models the request moves (new-commerce licenses, Azure plan):
        one request from a source carries every kind the plan moves from it."""
        ...

    def list_transfers(
        self, tenant: str, customer_id: str, source_tenant: str
    ) -> Sequence[model.LiveTransfer]:
        """The customer's transfer requests in ``tenant`` (the target) whose source partner is
        ``source_tenant``, freshly read; raises (never returns ``[]``) when unreadable."""
        ...

    def get_transfer(self, tenant: str, customer_id: str, transfer_id: str) -> model.LiveTransfer:
        """One transfer request as ``tenant`` (source or target) reads it; ``NotFound`` when
        that partner is not party to it."""
        ...

    def accept_transfer(
        self,
        tenant: str,
        customer_id: str,
        transfer_id: str,
        lines: Sequence[Sub],
        *,
        request_id: str,
    ) -> model.LiveTransfer:
        """Accept the request as the source partner ``tenant`` with exactly ``lines`` (the
        source subscriptions as freshly read); ``OutcomeUnknown`` when the answer was lost,
        ``WriteRejected`` on a refusal."""
        ...

    def subscriptions_of_order(self, tenant: str, customer_id: str, order_id: str) -> Sequence[Sub]:
        """The subscriptions of ``tenant`` that order ``order_id`` created (a completed
        transfer line names its order, not the subscription)."""
        ...

    def agreement_confirmed(self, tenant: str, customer_id: str) -> bool:
        """Whether ``tenant`` lists a confirmed acceptance of the Microsoft Customer Agreement
        for the customer, freshly read; raises (``Unreadable``, ``WriteRejected`` without the
        sign-in it needs) rather than answer when it cannot be read."""
        ...

    def record_agreement(
        self, tenant: str, customer_id: str, agreement: AgreementSpec, *, request_id: str
    ) -> AgreementRecorded:
        """Record the customer's acceptance in ``tenant`` (the agreement's current template,
        then the confirmation). A confirmation Partner Center says it already holds counts as
        recorded once read back. ``OutcomeUnknown`` when the answer was lost,
        ``WriteRejected`` on a refusal."""
        ...

    def correlation_id(self, tenant: str) -> str:
        """The MS-CorrelationId the adapter sends for ``tenant`` (for the journal)."""
        ...
