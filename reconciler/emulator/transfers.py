"""Partner-to-partner new-commerce transfers (docs §3.10).

The target creates a request naming the source (201, ``InProgress``); the source accepts by
PATCHing the line items it moves (``status: Complete``); the target may cancel while pending
(``status: Cancel``); unanswered requests expire after 30 days on the emulator clock. On
completion each source subscription ends (``deleted``) and an ``active`` twin with the same
offer, seats and term appears under the target, so billing moves without overlap. This module
must not implement subscription PATCH rules.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from reconciler.emulator import render
from reconciler.emulator.engine import Engine
from reconciler.emulator.protocol import ApiFault, Request, Response, RouteTable, collection
from reconciler.emulator.world import Subscription, Transfer, new_subscription

PENDING, COMPLETE, CANCELED, EXPIRED = "InProgress", "Complete", "Canceled", "Expired"


def create_transfer(engine: Engine, req: Request, customer_id: str) -> Response:
    """``POST /customers/{id}/transfers`` by the target partner."""
    customer = engine.customer_for(req.principal, customer_id)
    assert req.principal is not None
    body = req.json()
    if not isinstance(body, dict) or not body.get("sourcepartnertenantid"):
        raise ApiFault(400, 800002, "sourcePartnerTenantId is required.")
    source = str(body["sourcepartnertenantid"]).lower()
    target = str(body.get("targetpartnertenantid") or req.principal.tenant_id).lower()
    if source == req.principal.tenant_id:
        raise ApiFault(400, 900148, "The source partner cannot be the requesting partner.")
    if target != req.principal.tenant_id:
        raise ApiFault(400, 800002, "targetPartnerTenantId must be the calling partner.")
    if source not in engine.world.partners or source not in customer.relationships:
        raise ApiFault(400, 800002, f"Partner {source} has no relationship with the customer.")
    transfer_type = int(body.get("transfertype") or 5)
    if transfer_type not in (3, 5):
        raise ApiFault(400, 800002, f"Unsupported transferType {transfer_type}; use 5.")
    cid = customer.tenant_id.lower()
    for other in engine.world.transfers.values():
        if (
            other.customer_id == cid
            and other.status == PENDING
            and {other.source_id, other.target_id} == {source, target}
        ):
            raise ApiFault(
                409, 900101, f"Transfer {other.id} is already in progress for this customer."
            )
    now = engine.clock.now()
    transfer = Transfer(
        id=str(uuid.uuid4()),
        customer_id=cid,
        source_id=source,
        target_id=target,
        status=PENDING,
        created=now,
        modified=now,
        transfer_type=transfer_type,
        request=body,
    )
    engine.world.transfers[transfer.id] = transfer
    engine.schedule(
        now + dt.timedelta(days=engine.settings.transfer_expiry_days),
        "transfer_expiry",
        transfer.id,
    )
    engine.history.record(
        now,
        "transfer.create",
        partner_id=target,
        customer_id=cid,
        request_id=req.request_id,
        changes={"transferId": [None, transfer.id]},
    )
    return Response(201, render.transfer(transfer, engine.names()))


def _transfer_for(engine: Engine, req: Request, customer_id: str, tid: str) -> Transfer:
    customer = engine.customer_for(req.principal, customer_id)
    assert req.principal is not None
    transfer = engine.world.transfers.get(tid.lower())
    me = req.principal.tenant_id
    if (
        transfer is None
        or transfer.customer_id != customer.tenant_id.lower()
        or me not in (transfer.source_id, transfer.target_id)
    ):
        raise ApiFault(404, 900100, f"Transfer {tid} not found.")
    return transfer


def list_transfers(engine: Engine, req: Request, customer_id: str) -> Response:
    """``GET /customers/{id}/transfers``: requests where the caller is source or target."""
    customer = engine.customer_for(req.principal, customer_id)
    assert req.principal is not None
    me, cid = req.principal.tenant_id, customer.tenant_id.lower()
    items = [
        render.transfer(t, engine.names())
        for t in engine.world.transfers.values()
        if t.customer_id == cid and me in (t.source_id, t.target_id)
    ]
    return Response(200, collection(items, f"/customers/{customer.tenant_id}/transfers"))


def get_transfer(engine: Engine, req: Request, customer_id: str, tid: str) -> Response:
    """``GET /customers/{id}/transfers/{tid}``."""
    transfer = _transfer_for(engine, req, customer_id, tid)
    return Response(200, render.transfer(transfer, engine.names()))


def patch_transfer(engine: Engine, req: Request, customer_id: str, tid: str) -> Response:
    """``PATCH``: the source accepts (``Complete`` + lineItems), the target cancels."""
    transfer = _transfer_for(engine, req, customer_id, tid)
    assert req.principal is not None
    body = req.json()
    status = str(body.get("status", "") if isinstance(body, dict) else "").lower()
    if transfer.status != PENDING or transfer.lines:
        raise ApiFault(
            400,
            800002,
            f"Transfer {transfer.id} is {transfer.status}"
            f"{' and accepted' if transfer.lines else ''}; it can no longer change.",
        )
    now = engine.clock.now()
    if status in ("cancel", "canceled", "cancelled"):
        if req.principal.tenant_id != transfer.target_id:
            raise ApiFault(403, 800002, "Only the target partner can cancel a transfer.")
        transfer.status, transfer.modified = CANCELED, now
    elif status in ("complete", "completed", "accept", "accepted"):
        if req.principal.tenant_id != transfer.source_id:
            raise ApiFault(403, 800002, "Only the source partner can accept a transfer.")
        transfer.lines = _accepted_lines(engine, transfer, body.get("lineitems"))
        transfer.modified = now
        transfer.ready_at = now + dt.timedelta(seconds=engine.settings.provisioning_delay_seconds)
        engine.schedule(transfer.ready_at, "transfer", transfer.id)
    else:
        raise ApiFault(400, 800002, "status must be Complete (source) or Cancel (target).")
    engine.history.record(
        now,
        f"transfer.{status}",
        partner_id=req.principal.tenant_id,
        customer_id=transfer.customer_id,
        request_id=req.request_id,
        changes={"transferId": [transfer.id, transfer.id]},
    )
    return Response(200, render.transfer(transfer, engine.names()))


def _accepted_lines(engine: Engine, transfer: Transfer, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise ApiFault(
            400,
            800002,
            "Accepting a transfer needs lineItems with the "
            "subscriptionId of each subscription to move.",
        )
    lines = []
    for index, item in enumerate(raw):
        sid = str(item.get("subscriptionid", "")).lower() if isinstance(item, dict) else ""
        sub = engine.world.subscriptions.get(sid)
        if (
            sub is None
            or sub.partner_id != transfer.source_id
            or sub.customer_id != transfer.customer_id
        ):
            raise ApiFault(
                400,
                800002,
                f"Subscription {sid} is not the source partner's subscription of this customer.",
            )
        if not sub.offering.is_nce or sub.status != "active":
            raise ApiFault(
                400,
                900146,
                f"Subscription {sid} is not an active new-commerce "
                "license subscription and cannot be transferred.",
            )
        lines.append(
            {
                "id": index,
                "subscriptionId": sub.id,
                "quantity": sub.quantity,
                "billingCycle": sub.billing_cycle,
                "friendlyName": sub.friendly_name,
                "offerId": sub.offering.offer_id,
                "productType": "OnlineServicesNCE",
                "status": "Pending",
                "transferError": None,
            }
        )
    return lines


def complete(engine: Engine, transfer: Transfer, now: dt.datetime) -> None:
    """Move the accepted subscriptions from source to target (job ``transfer``)."""
    if transfer.status != PENDING or not transfer.lines:
        return
    for line in transfer.lines:
        source = engine.world.subscriptions[line["subscriptionId"].lower()]
        twin = _twin(source, transfer.target_id, now)
        engine.world.add_subscription(twin)
        engine.track_term(twin)
        source.status, source.auto_renew, source.refundable = "deleted", False, []
        engine.changed(
            source,
            "transfer.source_ended",
            {"status": ["active", "deleted"], "transferId": [None, transfer.id]},
            origin="transfer",
            when=now,
        )
        engine.changed(
            twin,
            "transfer.target_created",
            {"status": [None, "active"], "transferredFrom": [None, source.id]},
            origin="transfer",
            when=now,
        )
        line.update({"status": COMPLETE, "targetSubscriptionId": twin.id})
    transfer.status, transfer.completed, transfer.modified = COMPLETE, now, now


def _twin(source: Subscription, target_id: str, now: dt.datetime) -> Subscription:
    twin = new_subscription(
        source.offering,
        partner_id=target_id,
        customer_id=source.customer_id,
        created=now,
        quantity=source.quantity,
        billing_cycle=source.billing_cycle,
        term=source.term_duration,
        friendly_name=source.friendly_name,
        status="active",
        auto_renew=source.auto_renew,
    )
    # Term dates carry over; a transferred term is not cancellable by the new partner.
    twin.start, twin.end, twin.cancel_until, twin.refundable = source.start, source.end, None, []
    return twin


ROUTES: RouteTable = [
    ("POST", "/customers/{customer_id}/transfers", create_transfer),
    ("GET", "/customers/{customer_id}/transfers", list_transfers),
    ("GET", "/customers/{customer_id}/transfers/{tid}", get_transfer),
    ("PATCH", "/customers/{customer_id}/transfers/{tid}", patch_transfer),
]
