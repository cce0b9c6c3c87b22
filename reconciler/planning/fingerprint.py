"""Fingerprints of the live state each customer was planned on, so ``apply`` can refuse a
stale plan and name the customers that moved (product rule 7).

A fingerprint is ``sha256:<hex>`` over the normalised live fields decisions depend on, for
the customer's view in its source tenant and in the target: read status, and per subscription
(sorted by id) id, offer, friendly name, quantity, status, auto-renew, term end, cancellation
window, refundable batches and entitlement id; then the customer's transfer requests (sorted by
id: id, status, partners, expiry and line items), so a request appearing, being accepted or
lapsing makes a saved plan stale. Transfers not read and "read, none" hash alike: whether they
were needed is the planner's question (it refuses to plan a transfer on unknown requests).
Etags and read times are left out: they change without the state changing.

The snapshot that names what moved (``planning.staleness``) holds the same fields as JSON-ready
values; ``customer_state`` builds both in one walk over the live state (each date formatted
once), so they always cover the same fields. Pure: formatting and hashing only.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from datetime import datetime, tzinfo
from operator import itemgetter
from typing import Any

from reconciler import model
from reconciler.planning import actions

_first = itemgetter(0)
#: Each status's value, shared (``Enum.value`` is a descriptor call, once per subscription).
_STATUS = {s: s.value for s in model.SubscriptionStatus}


def _when(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


@functools.lru_cache(maxsize=4096)
def _iso(at: datetime, tz: tzinfo | None, fold: int) -> str:
    """``at.isoformat()``, memoised (speed: ``isoformat`` costs as much as the rest of a
    subscription's row, and a live state holds few distinct dates: terms end on whole days).
    A pure function of its key: equal datetimes with equal time zones and folds have the
    same fields and offset, so the same text, whichever customer's date came first."""
    return at.isoformat()


def _transfer(t: model.LiveTransfer) -> tuple[str, dict[str, Any]]:
    """The transfer request's fingerprint row and its snapshot."""
    lines = [
        f"{ln.source_subscription_id}>{ln.target_subscription_id or '-'}:{ln.status.lower()}"
        for ln in sorted(t.lines, key=lambda ln: ln.source_subscription_id)
    ]
    expires = _when(t.expires_at)
    row = (
        f"transfer|{t.id}|{t.status.value}|{t.source_partner_id}|{t.target_partner_id}|"
        f"{expires or '-'}|{','.join(lines)}"
    )
    snapshot = {
        "status": t.status.value,
        "source_partner": t.source_partner_id,
        "target_partner": t.target_partner_id,
        "expires": expires,
        "lines": lines,
    }
    return row, snapshot


def _view(tenant: str, view: model.CustomerView | None) -> tuple[str, dict[str, Any]]:
    """The view's part of the fingerprint (rows sorted by id) and its snapshot (subscriptions
    and transfers by id, as listed; only for a view read completely)."""
    if view is None:
        return f"{tenant}:absent", {"read": "absent"}
    if view.status is model.ReadStatus.UNKNOWN:
        return f"{tenant}:unknown", {"read": view.status.value}
    # Written for speed (once per subscription): one pass builds the rows (id first, to sort)
    # and the snapshots (as listed); the sort is stable, as the snapshot's order is.
    rows: list[tuple[str, str]] = []
    subs: dict[str, dict[str, Any]] = {}
    status_of = _STATUS
    for s in view.subscriptions:
        # Each subscription's fingerprint row and snapshot, inline (once per subscription).
        sid = s.id
        end, until = s.commitment_end_date, s.cancellation_allowed_until
        term_end = _iso(end, end.tzinfo, end.fold) if end is not None else None
        cancellable = _iso(until, until.tzinfo, until.fold) if until is not None else None
        refundable = (
            [f"{r.quantity}@{_when(r.allowed_until)}" for r in s.refundable] if s.refundable else []
        )
        status = status_of[s.status]
        # repr() of the friendly name keeps separators inside it from forging another field.
        rows.append(
            (
                sid,
                f"{sid}|{s.offer_id}|{s.friendly_name!r}|{s.quantity}|{status}|{s.auto_renew}|"
                f"{term_end or '-'}|{cancellable or '-'}|{','.join(refundable)}|{s.entitlement_id}",
            )
        )
        subs[sid] = {
            "offer": s.offer_id,
            "friendly_name": s.friendly_name,
            "quantity": s.quantity,
            "status": status,
            "auto_renew": s.auto_renew,
            "term_end": term_end,
            "cancellable_until": cancellable,
            "refundable": refundable,
            "entitlement": s.entitlement_id,
        }
    rows.sort(key=_first)
    transfers: dict[str, dict[str, Any]] = {}
    if view.transfers:
        moving: list[tuple[str, str]] = []
        for t in view.transfers:
            row, transfers[t.id] = _transfer(t)
            moving.append((t.id, row))
        moving.sort(key=_first)
        rows += moving
    read = view.status.value
    text = f"{tenant}:{read}\n" + "\n".join([row for _, row in rows])
    if view.status is not model.ReadStatus.OK:
        return text, {"read": read}
    return text, {"read": read, "subscriptions": subs, "transfers": transfers}


def customer_state(
    customer_id: str, tenants: Sequence[str], live: model.LiveState
) -> tuple[str, dict[str, Any]]:
    """The fingerprint and the snapshot (``staleness.customer_snapshot``) of ``customer_id``
    as seen in the partner tenants named ``tenants``, in one walk over its live state."""
    parts = []
    snapshot = {}
    for name in tenants:
        tv = live.view(name)
        text, snapshot[name] = _view(name, tv.customer(customer_id) if tv is not None else None)
        parts.append(text)
    raw = "\n--\n".join(parts)
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest(), snapshot


def customer_fingerprint(customer_id: str, tenants: Sequence[str], live: model.LiveState) -> str:
    """Fingerprint of ``customer_id`` as seen in the partner tenants named ``tenants``."""
    return customer_state(customer_id, tenants, live)[0]


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
