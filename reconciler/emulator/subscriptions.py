"""Subscription routes: list (unpaged, ``?order_id=``), get, and the full-resource PATCH.

PATCH rules (docs §3.5, §7): omitting ``autoRenewEnabled`` turns it off; ``If-Match`` is
optional (Microsoft's SDK sends none) but must carry the current etag when sent (else code
2055, HTTP 400 or 412 per the ``stale_etag_status`` setting); new-commerce cancellation and
seat reduction only inside their 7-day windows; suspending a new-commerce subscription turns
auto-renew off and keeps billing; no quantity change while suspended. ``apply_patch`` is
shared with the deferred (202) job.
This module must not render anything but through ``render``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from reconciler.emulator import render
from reconciler.emulator.engine import Engine
from reconciler.emulator.protocol import ApiFault, Request, Response, RouteTable, collection
from reconciler.emulator.world import Subscription

_STATUSES = {"active", "suspended", "deleted"}


def list_subscriptions(engine: Engine, req: Request, customer_id: str) -> Response:
    """``GET /customers/{id}/subscriptions[?order_id=]``: every subscription, one page."""
    customer = engine.customer_for(req.principal, customer_id)
    assert req.principal is not None
    now, country = engine.clock.now(), customer.country
    subs = engine.world.pair_subscriptions(req.principal.tenant_id, customer.tenant_id.lower())
    order_id = req.query.get("order_id")
    if order_id is not None:
        subs = [s for s in subs if s.order_id.lower() == order_id.lower()]
    items = [render.subscription(s, country, now) for s in subs]
    uri = f"/customers/{customer.tenant_id}/subscriptions"
    return Response(200, collection(items, uri + (f"?order_id={order_id}" if order_id else "")))


def get_subscription(engine: Engine, req: Request, customer_id: str, sid: str) -> Response:
    """``GET /customers/{id}/subscriptions/{sid}``."""
    customer = engine.customer_for(req.principal, customer_id)
    sub = engine.subscription_for(req.principal, customer, sid)
    return Response(200, render.subscription(sub, customer.country, engine.clock.now()))


def patch_subscription(engine: Engine, req: Request, customer_id: str, sid: str) -> Response:
    """``PATCH /customers/{id}/subscriptions/{sid}`` with the full resource."""
    customer = engine.customer_for(req.principal, customer_id)
    sub = engine.subscription_for(req.principal, customer, sid)
    body = req.json()
    if not isinstance(body, dict):
        raise ApiFault(400, 0, "The request body must be a Subscription object.")
    if_match = req.header("If-Match").strip().strip('"')
    if if_match and if_match != "*" and if_match != render.etag(sub):
        status = engine.settings.stale_etag_status  # 400 today (error list), 412 in old docs
        raise ApiFault(status, 2055, "Etag is no longer valid; read the subscription again.")
    if sub.status == "pending" or sub.pending_patch is not None:
        raise ApiFault(
            409,
            900278,
            "A pending operation exists on this subscription; retry after it completes.",
        )
    now = engine.clock.now()
    changes = validate_patch(sub, body, now)
    if engine.settings.patch_async and changes:
        sub.pending_patch = changes
        at = now + dt.timedelta(seconds=engine.settings.provisioning_delay_seconds)
        engine.schedule(at, "patch", sub.id.lower())
        engine.history.record(
            now,
            "subscription.update.accepted",
            partner_id=sub.partner_id,
            customer_id=sub.customer_id,
            subscription_id=sub.id,
            request_id=req.request_id,
            changes=_as_changes(sub, changes),
        )
        location = f"/v1/customers/{customer.tenant_id}/subscriptions/{sub.id}"
        return Response(202, None, {"Location": location})
    apply_patch(engine, sub, changes, req_id=req.request_id)
    return Response(200, render.subscription(sub, customer.country, engine.clock.now()))


def validate_patch(sub: Subscription, body: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The field changes a PATCH body asks for, or ``ApiFault`` if Partner Center refuses."""
    if sub.status == "deleted":
        raise ApiFault(400, 2011, f"Subscription {sub.id} is deleted and cannot be updated.")
    cycle = str(body.get("billingcycle", sub.billing_cycle) or sub.billing_cycle).lower()
    if cycle != sub.billing_cycle.lower():
        raise ApiFault(400, 2054, "The billing cycle cannot be changed with a subscription update.")
    status = str(body.get("status", sub.status)).lower()
    if status not in _STATUSES:
        raise ApiFault(400, 800096, f"Cannot update the subscription status to '{status}'.")
    try:
        quantity = int(body.get("quantity", sub.quantity))
    except (TypeError, ValueError) as exc:
        raise ApiFault(400, 0, "quantity must be an integer.") from exc
    # Full-resource semantics: a missing autoRenewEnabled means false (docs §3.5).
    auto_renew = bool(body.get("autorenewenabled", False))
    changes: dict[str, Any] = {}
    if status != sub.status:
        _check_status(sub, status, now)
        changes["status"] = status
    if status == "deleted":
        return changes
    if quantity != sub.quantity:
        _check_quantity(sub, status, quantity, now)
        changes["quantity"] = quantity
    name = str(body.get("friendlyname", sub.friendly_name))
    if name != sub.friendly_name:
        changes["friendlyName"] = name
    if status == "suspended" and sub.offering.is_nce:
        auto_renew = False  # suspension turns new-commerce auto-renew off (docs §7.2)
    if sub.offering.is_azure:
        auto_renew = sub.auto_renew
    if auto_renew != sub.auto_renew:
        changes["autoRenewEnabled"] = auto_renew
    return changes


def _check_status(sub: Subscription, status: str, now: dt.datetime) -> None:
    if status == "deleted":
        if not sub.offering.is_nce:
            raise ApiFault(
                400,
                800096,
                "Cannot update status: only new-commerce "
                "subscriptions can be cancelled; suspend this one instead.",
            )
        if sub.cancel_until is None or now > sub.cancel_until:
            until = sub.cancel_until.date().isoformat() if sub.cancel_until else "n/a"
            raise ApiFault(
                400,
                900117,
                "Cancellation is allowed only within 7 days of "
                f"purchase or renewal; the window ended on {until}.",
            )
    if status == "active" and sub.offering.is_nce and now.date() > sub.end.date():
        raise ApiFault(400, 800096, "The term has ended; the subscription cannot be reactivated.")


def _check_quantity(sub: Subscription, status: str, quantity: int, now: dt.datetime) -> None:
    if sub.offering.is_azure:
        raise ApiFault(
            400, 800095, "Cannot update the seat quantity of a usage-based subscription."
        )
    if status == "suspended":
        raise ApiFault(
            400, 2001, "The quantity cannot be changed while the subscription is suspended."
        )
    off = sub.offering
    if not off.minimum <= quantity <= off.maximum:
        raise ApiFault(
            400,
            2002,
            f"Quantity {quantity} is outside the allowed range "
            f"{off.minimum}-{off.maximum} for offer {off.offer_id}.",
        )
    if off.is_nce and quantity < sub.quantity:
        refundable = sum(q for q, until in sub.refundable if until > now)
        if sub.quantity - quantity > refundable:
            raise ApiFault(
                400,
                800090,
                f"Quantity cannot be decreased by "
                f"{sub.quantity - quantity}: only {refundable} seats are inside "
                "their 7-day reduction window; schedule the change for renewal.",
            )


def apply_patch(
    engine: Engine,
    sub: Subscription,
    changes: dict[str, Any],
    *,
    req_id: str = "",
    origin: str = "api",
) -> None:
    """Carry out validated changes and record them (ledger, history, etag)."""
    now = engine.clock.now()
    diff = _as_changes(sub, changes)
    if "quantity" in changes and sub.offering.is_nce:
        _move_refundable(sub, changes["quantity"] - sub.quantity, now)
    sub.quantity = changes.get("quantity", sub.quantity)
    sub.friendly_name = changes.get("friendlyName", sub.friendly_name)
    sub.auto_renew = changes.get("autoRenewEnabled", sub.auto_renew)
    sub.status = changes.get("status", sub.status)
    if sub.status == "deleted":
        sub.auto_renew, sub.refundable = False, []
    engine.changed(sub, "subscription.update", diff, request_id=req_id, origin=origin)
    if sub.status == "deleted" and now <= sub.created + dt.timedelta(days=1):
        engine.ledger.refund(sub)  # full refund inside the first day (refundOptions "Full")


def _move_refundable(sub: Subscription, delta: int, now: dt.datetime) -> None:
    if delta > 0:
        sub.refundable.append((delta, now + dt.timedelta(days=7)))
        return
    remaining, batches = -delta, []
    for qty, until in reversed(sub.refundable):  # the newest seats go first
        take = min(qty, remaining) if until > now else 0
        remaining -= take
        if qty - take:
            batches.append((qty - take, until))
    sub.refundable = list(reversed(batches))


def _as_changes(sub: Subscription, changes: dict[str, Any]) -> dict[str, Any]:
    current = {
        "status": sub.status,
        "quantity": sub.quantity,
        "friendlyName": sub.friendly_name,
        "autoRenewEnabled": sub.auto_renew,
    }
    return {k: [current[k], v] for k, v in changes.items()}


def azure_entitlements(engine: Engine, req: Request, customer_id: str, sid: str) -> Response:
    """``GET /customers/{id}/subscriptions/{sid}/azureEntitlements``: the Azure subscriptions
    under an Azure plan (a collection of ``AzureEntitlement``); 400 for another subscription."""
    customer = engine.customer_for(req.principal, customer_id)
    sub = engine.subscription_for(req.principal, customer, sid)
    if sub.offering.kind != "azure_plan":
        raise ApiFault(400, 800002, f"Subscription {sid} is not an Azure plan.")
    items = [
        {
            "id": azure_id,
            "friendlyName": f"{sub.friendly_name} subscription",
            "status": "active" if sub.status == "active" else sub.status,
            "subscriptionId": sub.id,
            "attributes": {"objectType": "AzureEntitlement"},
        }
        for azure_id in sub.azure_subscriptions
    ]
    uri = f"/customers/{customer.tenant_id}/subscriptions/{sub.id}/azureEntitlements"
    return Response(200, collection(items, uri))


ROUTES: RouteTable = [
    ("GET", "/customers/{customer_id}/subscriptions", list_subscriptions),
    ("GET", "/customers/{customer_id}/subscriptions/{sid}", get_subscription),
    ("GET", "/customers/{customer_id}/subscriptions/{sid}/azureEntitlements", azure_entitlements),
    ("PATCH", "/customers/{customer_id}/subscriptions/{sid}", patch_subscription),
]
