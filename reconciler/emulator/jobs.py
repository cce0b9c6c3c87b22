"""Time-driven changes run by ``Engine.settle()``: provisioning, deferred (202) PATCHes,
transfer completion and expiry, and the end of each subscription's term (renewal when
auto-renew is on and it is active; otherwise new commerce ``expired``, legacy ``deleted``).
Each job re-checks state, so a stale job is harmless, and records its change at the time it
was due, not when the clock was read. This module must not be called except through
``Engine.settle``.
"""

from __future__ import annotations

import datetime as dt

from reconciler.emulator import subscriptions, transfers
from reconciler.emulator.clock import add_term, iso
from reconciler.emulator.engine import Engine, term_end
from reconciler.emulator.world import Subscription


def run(engine: Engine, kind: str, key: str, at: dt.datetime) -> None:
    """Run one due job."""
    if kind == "order":
        _provision(engine, key, at)
    elif kind == "patch":
        sub = engine.world.subscriptions.get(key)
        if sub is not None and sub.pending_patch is not None:
            changes, sub.pending_patch = sub.pending_patch, None
            subscriptions.apply_patch(engine, sub, changes, origin="async")
    elif kind == "transfer":
        transfer = engine.world.transfers.get(key)
        if transfer is not None:
            transfers.complete(engine, transfer, at)
    elif kind == "transfer_expiry":
        transfer = engine.world.transfers.get(key)
        if transfer is not None and transfer.status == transfers.PENDING and not transfer.lines:
            transfer.status, transfer.modified = transfers.EXPIRED, at
            engine.history.record(
                at,
                "transfer.expired",
                partner_id=transfer.target_id,
                customer_id=transfer.customer_id,
                origin="clock",
                changes={"status": [transfers.PENDING, transfers.EXPIRED]},
            )
    elif kind == "term_end":
        sub = engine.world.subscriptions.get(key)
        if sub is not None:
            _term_end(engine, sub, at)


def _provision(engine: Engine, order_id: str, at: dt.datetime) -> None:
    order = engine.world.orders.get(order_id)
    if order is None or order.status != "pending":
        return
    for line in order.lines:
        sub = engine.world.subscriptions[line.subscription_id.lower()]
        if sub.status == "pending":
            sub.status, sub.ready_at = "active", None
            engine.changed(
                sub,
                "subscription.provisioned",
                {"status": ["pending", "active"]},
                origin="provisioning",
                when=at,
            )
    order.status = "completed"
    engine.history.record(
        at,
        "order.completed",
        partner_id=order.partner_id,
        customer_id=order.customer_id.lower(),
        origin="provisioning",
        changes={"status": ["pending", "completed"]},
    )


def _term_end(engine: Engine, sub: Subscription, at: dt.datetime) -> None:
    if sub.status not in ("active", "suspended") or at < term_end(sub):
        return  # ended otherwise, or the term moved since this job was scheduled
    if sub.auto_renew and sub.status == "active":
        old_end = sub.end
        sub.start = sub.end + dt.timedelta(days=1)
        sub.end = add_term(sub.start, sub.term_duration)
        if sub.offering.is_nce:  # a renewal opens a new cancellation window (docs §7.3)
            sub.cancel_until = sub.start + dt.timedelta(days=7)
            sub.refundable = [(sub.quantity, sub.cancel_until)]
        engine.changed(
            sub,
            "subscription.renewed",
            {"commitmentEndDate": [iso(old_end), iso(sub.end)]},
            origin="clock",
            when=at,
        )
        engine.track_term(sub)
        return
    old, sub.status = sub.status, "expired" if sub.offering.is_nce else "deleted"
    sub.auto_renew, sub.refundable = False, []
    engine.changed(
        sub, "subscription.expired", {"status": [old, sub.status]}, origin="clock", when=at
    )
