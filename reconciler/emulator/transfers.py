"""Partner-to-partner new-commerce transfers (docs §3.10, "Today's rules").

The target creates a request naming the source, the source's name and the customer's email
(201, ``InProgress``); the source accepts by PATCHing the line items it moves (``status:
Complete``) or declines (``status: Reject``); the target may cancel while pending (``status:
Cancel``); unanswered requests expire after 30 days on the emulator clock. On completion each
source subscription ends (``deleted``); a license line gets an ``active`` twin with the same
offer, seats and term under the target, created by a new order, and an Azure plan line moves
onto the target's own active Azure plan; each completed line names that order (``orderId``),
as Microsoft documents, so billing moves without overlap. The list is a bare JSON array (as
Microsoft's example shows) unless ``transfer_list_envelope`` is set. This module must not
implement subscription PATCH rules.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from reconciler.emulator import render
from reconciler.emulator.agreements import require_agreement
from reconciler.emulator.catalog import AZURE_LEGACY, AZURE_PLAN
from reconciler.emulator.engine import Engine
from reconciler.emulator.protocol import ApiFault, Request, Response, RouteTable, collection
from reconciler.emulator.world import Subscription, Transfer, new_subscription

PENDING, COMPLETE, CANCELED, EXPIRED = "InProgress", "Complete", "Canceled", "Expired"
REJECTED = "Reject"
LICENSES, AZURE = "OnlineServicesNCE", "AzureSubscription"
#: Fields Microsoft's "Create a transfer" page marks required, by their lower-case key.
REQUIRED = {
    "sourcepartnertenantid": "sourcePartnerTenantId",
    "sourcepartnername": "sourcePartnerName",
    "customeremailid": "customerEmailId",
}


def create_transfer(engine: Engine, req: Request, customer_id: str) -> Response:
    """``POST /customers/{id}/transfers`` by the target partner."""
    customer = engine.customer_for(req.principal, customer_id)
    assert req.principal is not None
    body = req.json()
    if not isinstance(body, dict):
        raise ApiFault(400, 800002, "The request body must be a TransferEntity object.")
    for key, name in REQUIRED.items():
        if not str(body.get(key) or "").strip():
            raise ApiFault(400, 800002, f"{name} is required.")
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
    if AZURE.lower() in _product_types(body):
        _refuse_legacy_azure(engine, source, cid)
        _require_azure_plan(engine, target, cid)
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


def _product_types(body: dict[str, Any]) -> set[str]:
    """The lower-case ``targetProductTypes`` of a request (empty: every type)."""
    raw = body.get("targetproducttypes")
    return {str(t).lower() for t in raw} if isinstance(raw, list) else set()


def _refuse_legacy_azure(engine: Engine, source: str, customer_id: str) -> None:
    """400 900131 when the source partner holds active legacy Azure (MS-AZR-0145P) for the
    customer: Azure plan transfers are refused then (Microsoft support moves legacy Azure)."""
    legacy = [
        s.id
        for s in engine.world.pair_subscriptions(source, customer_id)
        if s.offering.kind == AZURE_LEGACY and s.status == "active"
    ]
    if legacy:
        raise ApiFault(
            400,
            900131,
            f"The customer has legacy Azure subscriptions ({', '.join(legacy)}) with the "
            "source partner; Azure plan subscriptions cannot be transferred.",
        )


def _require_azure_plan(engine: Engine, target: str, customer_id: str) -> Subscription:
    """The target's active Azure plan for the customer: an Azure plan transfer moves onto it
    (400 900133 when the target never bought one, 900134 when it cannot buy one because the
    customer has not accepted the Microsoft Customer Agreement, 900132 when it is not
    active)."""
    plans = [
        s
        for s in engine.world.pair_subscriptions(target, customer_id)
        if s.offering.kind == AZURE_PLAN and s.status != "deleted"
    ]
    active = next((s for s in plans if s.status == "active"), None)
    if active is not None:
        return active
    if plans:
        raise ApiFault(400, 900132, "The customer's Azure plan with the target is not active.")
    customer = engine.world.customers.get(customer_id)
    if customer is not None:
        try:
            require_agreement(engine, customer)
        except ApiFault as exc:
            raise ApiFault(
                400,
                900134,
                "An Azure plan cannot be purchased for the customer: it has not accepted the "
                "Microsoft Customer Agreement.",
            ) from exc
    raise ApiFault(
        400, 900133, "The target partner has not purchased an Azure plan for the customer."
    )


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
    if engine.settings.transfer_list_envelope:
        return Response(200, collection(items, f"/customers/{customer.tenant_id}/transfers"))
    return Response(200, items)


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
    elif status in ("reject", "rejected"):
        if req.principal.tenant_id != transfer.source_id:
            raise ApiFault(403, 800002, "Only the source partner can reject a transfer.")
        transfer.status, transfer.modified = REJECTED, now
    else:
        raise ApiFault(
            400, 800002, "status must be Complete or Reject (source) or Cancel (target)."
        )
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
    types = _product_types(transfer.request)
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
        if sub.offering.kind == AZURE_LEGACY:
            raise ApiFault(
                400, 900131, f"Subscription {sid} is legacy Azure; Microsoft support moves it."
            )
        kind = AZURE if sub.offering.kind == AZURE_PLAN else LICENSES
        if not (sub.offering.is_nce or kind == AZURE) or sub.status != "active":
            raise ApiFault(
                400,
                900146,
                f"Subscription {sid} is not an active new-commerce "
                "license or Azure plan subscription and cannot be transferred.",
            )
        if types and kind.lower() not in types:
            raise ApiFault(
                400, 800002, f"Subscription {sid} is {kind}, which this request does not move."
            )
        if kind == AZURE:
            _refuse_legacy_azure(engine, transfer.source_id, transfer.customer_id)
            _require_azure_plan(engine, transfer.target_id, transfer.customer_id)
        quantity = item.get("quantity")
        if quantity is not None and quantity != sub.quantity:
            raise ApiFault(
                400,
                800002,
                f"lineItems quantity {quantity} of {sid} differs from its {sub.quantity} seats.",
            )
        lines.append(
            {
                "id": index,
                "subscriptionId": sub.id,
                "quantity": sub.quantity,
                "billingCycle": sub.billing_cycle,
                "friendlyName": sub.friendly_name,
                "offerId": sub.offering.offer_id,
                "productType": kind,
                "status": "Pending",
                "transferError": None,
            }
        )
    return lines


def complete(engine: Engine, transfer: Transfer, now: dt.datetime) -> None:
    """Move the accepted subscriptions from source to target (job ``transfer``): licenses to a
    twin created by a new order, an Azure plan onto the target's own plan."""
    if transfer.status != PENDING or not transfer.lines:
        return
    order_id = str(uuid.uuid4())
    for line in transfer.lines:
        source = engine.world.subscriptions[line["subscriptionId"].lower()]
        if line.get("productType") == AZURE:
            landed = _require_azure_plan(engine, transfer.target_id, transfer.customer_id)
            landed_on = landed.order_id or order_id
        else:
            landed = _twin(source, transfer.target_id, now, order_id)
            engine.world.add_subscription(landed)
            engine.track_term(landed)
            landed_on = order_id
        source.status, source.auto_renew, source.refundable = "deleted", False, []
        engine.changed(
            source,
            "transfer.source_ended",
            {"status": ["active", "deleted"], "transferId": [None, transfer.id]},
            origin="transfer",
            when=now,
        )
        engine.changed(
            landed,
            "transfer.target_created",
            {"status": [None, "active"], "transferredFrom": [None, source.id]},
            origin="transfer",
            when=now,
        )
        line.update({"status": COMPLETE, "orderId": landed_on})
    transfer.status, transfer.completed, transfer.modified = COMPLETE, now, now


def _twin(source: Subscription, target_id: str, now: dt.datetime, order_id: str) -> Subscription:
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
        order_id=order_id,
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
