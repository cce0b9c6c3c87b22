"""Snapshots of the emulator's world as plain JSON (for test assertions and the state dir).

Read-only views; must not change state.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.emulator import render
from reconciler.emulator.clock import iso
from reconciler.emulator.engine import Engine
from reconciler.emulator.world import Order, Subscription

SNAPSHOT_FORMAT = "reconciler-emulator-snapshot/1"


def snapshot(engine: Engine) -> dict[str, Any]:
    """The world: partners, customers (with relationships), subscriptions, orders, transfers."""
    world, names = engine.world, engine.names()
    return {
        "format": SNAPSHOT_FORMAT,
        "now": iso(engine.clock.now()),
        "settings": engine.settings.as_dict(),
        "partners": [
            {
                "name": p.name,
                "tenantId": p.tenant_id,
                "country": p.country,
                "companyName": p.company_name,
            }
            for p in world.partners.values()
        ],
        "customers": [
            {
                "tenantId": c.tenant_id,
                "companyName": c.company_name,
                "domain": c.domain,
                "relationships": sorted(names[t] for t in c.relationships),
                "invitations": sorted(names[t] for t in c.invitations),
                "mcaAccepted": bool(c.agreements),
            }
            for c in world.customers.values()
        ],
        "subscriptions": [_subscription(s, names) for s in world.subscriptions.values()],
        "orders": [_order(o, names) for o in world.orders.values()],
        "transfers": [render.transfer(t, names) for t in world.transfers.values()],
    }


def _subscription(s: Subscription, names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": s.id,
        "partner": names[s.partner_id],
        "partnerTenantId": s.partner_id,
        "customerId": s.customer_id,
        "offerId": s.offering.offer_id,
        "kind": s.offering.kind,
        "friendlyName": s.friendly_name,
        "quantity": s.quantity,
        "status": s.status,
        "autoRenewEnabled": s.auto_renew,
        "billingCycle": s.billing_cycle,
        "termDuration": s.term_duration,
        "creationDate": iso(s.created),
        "commitmentEndDate": iso(s.end),
        "cancellationAllowedUntilDate": iso(s.cancel_until),
        "orderId": s.order_id,
        "etag": render.etag(s),
    }


def _order(o: Order, names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": o.id,
        "partner": names[o.partner_id],
        "customerId": o.customer_id,
        "status": o.status,
        "creationDate": iso(o.created),
        "lineItems": [
            {
                "offerId": li.offer_id,
                "quantity": li.quantity,
                "subscriptionId": li.subscription_id,
                "friendlyName": li.friendly_name,
            }
            for li in o.lines
        ],
    }


def save(doc: dict[str, Any], path: Path) -> Path:
    """Write ``doc`` atomically as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path
