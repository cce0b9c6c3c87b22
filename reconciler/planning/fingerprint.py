"""Fingerprints of the live state each customer was planned on, so ``apply`` can refuse a
stale plan and name the customers that moved (product rule 7).

A fingerprint is ``sha256:<hex>`` over the normalised live fields decisions depend on, for
the customer's view in its source tenant and in the target: read status, and per subscription
(sorted by id) id, offer, friendly name, quantity, status, auto-renew, term end, cancellation
window, refundable batches and entitlement id; then the customer's transfer requests (sorted by
id: id, status, partners, expiry and line items), so a request appearing, being accepted or
lapsing makes a saved plan stale. Transfers not read and "read, none" hash alike: whether they
were needed is the planner's question (it refuses to plan a transfer on unknown requests).
Etags and read times are left out: they change without the state changing. Pure: hashing only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from reconciler import model
from reconciler.planning import actions


def _when(at: datetime | None) -> str:
    return at.isoformat() if at is not None else "-"


def _subscription(s: model.LiveSubscription) -> str:
    refundable = ",".join(f"{r.quantity}@{_when(r.allowed_until)}" for r in s.refundable)
    # repr() of the friendly name keeps separators inside it from forging another field.
    return (
        f"{s.id}|{s.offer_id}|{s.friendly_name!r}|{s.quantity}|{s.status.value}|"
        f"{s.auto_renew}|{_when(s.commitment_end_date)}|{_when(s.cancellation_allowed_until)}|"
        f"{refundable}|{s.entitlement_id}"
    )


def _transfer(t: model.LiveTransfer) -> str:
    lines = ",".join(
        f"{ln.source_subscription_id}>{ln.target_subscription_id or '-'}:{ln.status.lower()}"
        for ln in sorted(t.lines, key=lambda ln: ln.source_subscription_id)
    )
    return (
        f"transfer|{t.id}|{t.status.value}|{t.source_partner_id}|{t.target_partner_id}|"
        f"{_when(t.expires_at)}|{lines}"
    )


def _view(tenant: str, view: model.CustomerView | None) -> str:
    if view is None:
        return f"{tenant}:absent"
    if view.status is model.ReadStatus.UNKNOWN:
        return f"{tenant}:unknown"
    subs = sorted(view.subscriptions, key=lambda s: s.id)
    rows = [_subscription(s) for s in subs]
    rows += [_transfer(t) for t in sorted(view.transfers or (), key=lambda t: t.id)]
    return f"{tenant}:{view.status.value}\n" + "\n".join(rows)


def customer_fingerprint(customer_id: str, tenants: Sequence[str], live: model.LiveState) -> str:
    """Fingerprint of ``customer_id`` as seen in the partner tenants named ``tenants``."""
    parts = []
    for name in tenants:
        tv = live.view(name)
        parts.append(_view(name, tv.customer(customer_id) if tv is not None else None))
    raw = "\n--\n".join(parts)
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


def moved_customers(plan: actions.Plan, live: model.LiveState) -> tuple[actions.CustomerEntry, ...]:
    """Customers of ``plan`` whose live state differs from what the plan was made on.

    ``apply`` calls this on a fresh read and refuses the plan (``errors.StalePlanError``)
    naming these customers when any is returned.
    """
    return tuple(
        c
        for c in plan.customers
        if customer_fingerprint(c.tenant_id, c.tenants(plan.target), live) != c.fingerprint
    )
