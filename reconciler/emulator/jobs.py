"""Time-driven changes run by ``Engine.settle()``: provisioning, deferred (202) PATCHes,
transfer completion and expiry. Each job re-checks state, so a stale job is harmless. This
module must not be called except through ``Engine.settle``.
"""

from __future__ import annotations

import datetime as dt

from reconciler.emulator import subscriptions, transfers
from reconciler.emulator.engine import Engine


def run(engine: Engine, kind: str, key: str, at: dt.datetime) -> None:
    """Run one due job."""
    if kind == "order":
        _provision(engine, key)
    elif kind == "patch":
        sub = engine.world.subscriptions.get(key)
        if sub is not None and sub.pending_patch is not None:
            changes, sub.pending_patch = sub.pending_patch, None
            subscriptions.apply_patch(engine, sub, changes, origin="async")
    elif kind == "transfer":
        transfer = engine.world.transfers.get(key)
        if transfer is not None:
            transfers.complete(engine, transfer)
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


def _provision(engine: Engine, order_id: str) -> None:
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
            )
    order.status = "completed"
    engine.history.record(
        engine.clock.now(),
        "order.completed",
        partner_id=order.partner_id,
        customer_id=order.customer_id.lower(),
        origin="provisioning",
        changes={"status": ["pending", "completed"]},
    )
