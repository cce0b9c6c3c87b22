"""Purchases: orders (``POST`` 201, list, get) and new-commerce carts with checkout.

A new order is ``pending`` and its subscriptions ``pending`` until the provisioning delay
passes on the emulator clock (job ``order`` in ``jobs``). Checkout groups cart lines into
orders by billing cycle; a group with an invalid line fails alone (``orderErrors``) while the
others succeed. This module must not apply subscription PATCH rules.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from reconciler.emulator import render
from reconciler.emulator.agreements import require_agreement
from reconciler.emulator.catalog import Offering
from reconciler.emulator.engine import Engine
from reconciler.emulator.protocol import ApiFault, Request, Response, RouteTable, collection
from reconciler.emulator.world import Cart, Customer, Order, OrderLine, new_subscription


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    offering: Offering
    quantity: int
    friendly_name: str
    term: str
    cycle: str


def create_order(engine: Engine, req: Request, customer_id: str) -> Response:
    """``POST /customers/{id}/orders``: 201 with the (pending) order."""
    customer = engine.customer_for(req.principal, customer_id)
    body = req.json()
    items = body.get("lineitems") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ApiFault(400, 800002, "An order needs at least one line item.")
    ref = str(body.get("referencecustomerid") or customer.tenant_id)
    if ref.lower() != customer.tenant_id.lower():
        raise ApiFault(400, 800002, "referenceCustomerId does not match the customer in the path.")
    require_agreement(engine, customer)
    numbers = sorted(_int(i.get("lineitemnumber"), "lineItemNumber") for i in items)
    if numbers != list(range(len(items))):
        raise ApiFault(400, 800071, "Line item numbers must run from 0 to n-1.")
    cycle = str(body.get("billingcycle") or "monthly").lower()
    lines = [_order_line(engine, i, cycle) for i in items]
    order = place(engine, req, customer, lines, cycle)
    return Response(201, render.order(order, customer.country))


def _order_line(engine: Engine, item: dict[str, Any], cycle: str) -> _Line:
    offer_id = str(item.get("offerid") or "")
    generation = engine.availability_generation()
    offering = engine.world.catalog.resolve_at(offer_id, generation) if offer_id else None
    if offering is None:
        raise ApiFault(400, 800004, f"Invalid offer id '{offer_id}'.")
    if offering.kind == "legacy" and engine.settings.refuse_legacy_purchases:
        # Today's service: license-based purchases are new commerce only (since 2024).
        raise ApiFault(403, 2091, f"The offer {offer_id} is no longer available for purchase.")
    quantity = _int(item.get("quantity"), "quantity")
    if not offering.minimum <= quantity <= offering.maximum:
        raise ApiFault(
            400,
            2002,
            f"Quantity {quantity} is outside the allowed range "
            f"{offering.minimum}-{offering.maximum} for offer {offer_id}.",
        )
    return _Line(
        _int(item.get("lineitemnumber"), "lineItemNumber"),
        offering,
        quantity,
        str(item.get("friendlyname") or offering.name),
        str(item.get("termduration") or ""),
        cycle,
    )


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ApiFault(400, 800002, f"{name} is required and must be an integer.")
    try:
        return int(value)
    except ValueError as exc:
        raise ApiFault(400, 800002, f"{name} must be an integer.") from exc


def place(
    engine: Engine,
    req: Request,
    customer: Customer,
    lines: list[_Line],
    cycle: str,
    *,
    cart_id: str = "",
) -> Order:
    """Create an order and its pending subscriptions; schedule their provisioning. The
    history's ``order.create`` names the cart a checkout placed it from (``cartId``)."""
    assert req.principal is not None
    now = engine.clock.now()
    partner = engine.world.partners[req.principal.tenant_id]
    order_id = uuid.uuid4().hex[:12]
    ready = now + dt.timedelta(seconds=engine.settings.provisioning_delay_seconds)
    order_lines = [
        _pending_subscription(engine, req, partner.tenant_id, customer, line, order_id, now, ready)
        for line in lines
    ]
    order = Order(
        id=order_id,
        customer_id=customer.tenant_id,
        partner_id=partner.tenant_id.lower(),
        billing_cycle=cycle,
        lines=order_lines,
        status="pending",
        created=now,
        ready_at=ready,
        currency=partner.currency,
    )
    engine.world.orders[order_id] = order
    engine.history.record(
        now,
        "order.create",
        partner_id=order.partner_id,
        customer_id=customer.tenant_id.lower(),
        request_id=req.request_id,
        changes={"orderId": [None, order_id], **({"cartId": [None, cart_id]} if cart_id else {})},
    )
    engine.schedule(ready, "order", order_id)
    return order


def _pending_subscription(
    engine: Engine,
    req: Request,
    partner_id: str,
    customer: Customer,
    line: _Line,
    order_id: str,
    now: dt.datetime,
    ready: dt.datetime,
) -> OrderLine:
    """One order line's pending subscription (created at ``now``, ready at ``ready``), added
    to the world and the history."""
    sub = new_subscription(
        line.offering,
        partner_id=partner_id.lower(),
        customer_id=customer.tenant_id.lower(),
        created=now,
        quantity=line.quantity,
        billing_cycle=line.cycle,
        term=line.term,
        friendly_name=line.friendly_name,
        status="pending",
        order_id=order_id,
    )
    sub.ready_at = ready
    engine.world.add_subscription(sub)
    engine.track_term(sub)
    engine.history.record(
        now,
        "subscription.create",
        partner_id=sub.partner_id,
        customer_id=sub.customer_id,
        subscription_id=sub.id,
        request_id=req.request_id,
        changes={
            "status": [None, "pending"],
            "offerId": [None, line.offering.offer_id],
            "quantity": [None, sub.quantity],
        },
    )
    return OrderLine(
        line.number,
        line.offering.offer_id,
        line.quantity,
        line.friendly_name,
        sub.term_duration,
        sub.id,
    )


def list_orders(engine: Engine, req: Request, customer_id: str) -> Response:
    """``GET /customers/{id}/orders[?billingType=]``: an order is listed only once it is
    ``order_list_delay_seconds`` old on the emulator clock (by id it is found at once)."""
    customer = engine.customer_for(req.principal, customer_id)
    assert req.principal is not None
    wanted = req.query.get("billingtype")
    listed_before = engine.clock.now() - dt.timedelta(
        seconds=engine.settings.order_list_delay_seconds
    )
    orders = [
        o
        for o in engine.world.orders.values()
        if o.partner_id == req.principal.tenant_id
        and o.customer_id.lower() == customer.tenant_id.lower()
        and (wanted is None or o.billing_cycle == wanted.lower())
        and o.created <= listed_before
    ]
    items = [render.order(o, customer.country) for o in orders]
    return Response(200, collection(items, f"/customers/{customer.tenant_id}/orders"))


def _order_for(engine: Engine, req: Request, customer_id: str, order_id: str) -> Order:
    customer = engine.customer_for(req.principal, customer_id)
    assert req.principal is not None
    order = engine.world.orders.get(order_id)
    if (
        order is None
        or order.partner_id != req.principal.tenant_id
        or order.customer_id.lower() != customer.tenant_id.lower()
    ):
        raise ApiFault(404, 20000, f"Order ID {order_id} not found.")
    return order


def get_order(engine: Engine, req: Request, customer_id: str, order_id: str) -> Response:
    """``GET /customers/{id}/orders/{order_id}`` (404 code 20000 if unknown)."""
    order = _order_for(engine, req, customer_id, order_id)
    country = engine.world.customers[order.customer_id.lower()].country
    return Response(200, render.order(order, country))


def provisioning_status(engine: Engine, req: Request, customer_id: str, order_id: str) -> Response:
    """``GET /customers/{id}/orders/{order_id}/provisioningstatus``: per line item."""
    order = _order_for(engine, req, customer_id, order_id)
    done = order.status == "completed"
    items: list[dict[str, Any]] = [
        {
            "lineItemNumber": line.number,
            "status": "Fulfilled" if done else "PrefulfillmentPending",
            "quantityProvisioningInformation": [],
            "attributes": {"objectType": "OrderLineItemProvisioningStatus"},
        }
        for line in order.lines
    ]
    uri = f"/customers/{order.customer_id}/orders/{order.id}/provisioningstatus"
    return Response(200, collection(items, uri))


# -- carts ---------------------------------------------------------------------------------


def create_cart(engine: Engine, req: Request, customer_id: str) -> Response:
    """``POST /customers/{id}/carts``: 201 with enriched lines (errors per line)."""
    customer = engine.customer_for(req.principal, customer_id)
    assert req.principal is not None
    now = engine.clock.now()
    cart = Cart(
        id=str(uuid.uuid4()),
        customer_id=customer.tenant_id,
        partner_id=req.principal.tenant_id,
        lines=_cart_lines(engine, req),
        status="Active",
        created=now,
        modified=now,
    )
    engine.world.carts[cart.id] = cart
    return Response(201, render.cart(cart))


def _cart_lines(engine: Engine, req: Request) -> list[dict[str, Any]]:
    body = req.json()
    items = body.get("lineitems") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ApiFault(400, 800009, "A cart needs at least one line item.")
    assert req.principal is not None
    currency = engine.world.partners[req.principal.tenant_id].currency
    groups: dict[str, str] = {}
    lines = []
    for index, item in enumerate(items):
        cycle = str(item.get("billingcycle") or "monthly").lower()
        line = {
            "id": item.get("id", index),
            "catalogItemId": str(item.get("catalogitemid", "")),
            "quantity": item.get("quantity"),
            "billingCycle": cycle,
            "termDuration": str(item.get("termduration") or ""),
            "friendlyName": item.get("friendlyname"),
            "currencyCode": currency,
            "provisioningContext": item.get("provisioningcontext") or {},
            "orderGroup": groups.setdefault(cycle, str(len(groups))),
        }
        error = _cart_line_error(engine, line)
        if error is not None:
            line["error"] = error
        lines.append(line)
    return lines


def _cart_line_error(engine: Engine, line: dict[str, Any]) -> dict[str, Any] | None:
    generation = engine.availability_generation()
    offering = engine.world.catalog.resolve_at(line["catalogItemId"], generation)
    qty = line["quantity"]
    if offering is None:
        code, text = 10001, f"Catalog item id {line['catalogItemId']} is not valid."
    elif offering.kind in ("legacy", "azure_legacy"):
        code, text = 500600, "Legacy offers cannot be purchased through a cart."
    elif not isinstance(qty, int) or isinstance(qty, bool) or qty < offering.minimum:
        code, text = 10010, f"Invalid quantity {qty!r}."
    elif qty > offering.maximum:
        code, text = 10015, f"At most {offering.maximum} seats per subscription."
    else:
        return None
    return {"errorCode": code, "errorDescription": text, "additionalInformation": {}}


def _cart_for(engine: Engine, req: Request, customer_id: str, cart_id: str) -> Cart:
    customer = engine.customer_for(req.principal, customer_id)
    assert req.principal is not None
    cart = engine.world.carts.get(cart_id.lower())
    if (
        cart is None
        or cart.partner_id != req.principal.tenant_id
        or cart.customer_id.lower() != customer.tenant_id.lower()
    ):
        raise ApiFault(404, 800008, f"Cart {cart_id} not found.")
    return cart


def get_cart(engine: Engine, req: Request, customer_id: str, cart_id: str) -> Response:
    """``GET /customers/{id}/carts/{cart_id}``."""
    return Response(200, render.cart(_cart_for(engine, req, customer_id, cart_id)))


def update_cart(engine: Engine, req: Request, customer_id: str, cart_id: str) -> Response:
    """``PUT /customers/{id}/carts/{cart_id}`` with the full cart."""
    cart = _cart_for(engine, req, customer_id, cart_id)
    if cart.status.lower() != "active":
        raise ApiFault(400, 800065, "The cart was already submitted.")
    cart.lines, cart.modified = _cart_lines(engine, req), engine.clock.now()
    return Response(200, render.cart(cart))


def checkout(engine: Engine, req: Request, customer_id: str, cart_id: str) -> Response:
    """``POST /customers/{id}/carts/{cart_id}/checkout``: 201 ``CartCheckoutResult``."""
    cart = _cart_for(engine, req, customer_id, cart_id)
    customer = engine.customer_for(req.principal, customer_id)
    if cart.status.lower() != "active":
        raise ApiFault(400, 800065, "The cart was already submitted.")
    require_agreement(engine, customer)
    orders, errors = [], []
    for line in cart.lines:  # an availability reissued since the cart was written is stale now
        if "error" not in line and (stale := _cart_line_error(engine, line)) is not None:
            line["error"] = stale
    for group in sorted({line["orderGroup"] for line in cart.lines}):
        members = [line for line in cart.lines if line["orderGroup"] == group]
        bad = [line for line in members if "error" in line]
        if bad:
            errors.append(
                {
                    "orderGroupId": group,
                    "code": 800002,
                    "description": "; ".join(b["error"]["errorDescription"] for b in bad),
                }
            )
            continue
        lines = [_cart_order_line(engine, number, line) for number, line in enumerate(members)]
        order = place(engine, req, customer, lines, members[0]["billingCycle"], cart_id=cart.id)
        orders.append(render.order(order, customer.country))
    cart.status, cart.modified = "Ordered", engine.clock.now()
    return Response(
        201,
        {
            "orders": orders,
            "orderErrors": errors,
            "attributes": {"objectType": "CartCheckoutResult"},
        },
    )


def _cart_order_line(engine: Engine, number: int, line: dict[str, Any]) -> _Line:
    offering = engine.world.catalog.resolve_at(
        line["catalogItemId"], engine.availability_generation()
    )
    assert offering is not None  # checkout re-checked every line first
    return _Line(
        number,
        offering,
        int(line["quantity"]),
        str(line.get("friendlyName") or offering.name),
        line["termDuration"],
        line["billingCycle"],
    )


ROUTES: RouteTable = [
    ("POST", "/customers/{customer_id}/orders", create_order),
    ("GET", "/customers/{customer_id}/orders", list_orders),
    ("GET", "/customers/{customer_id}/orders/{order_id}", get_order),
    ("GET", "/customers/{customer_id}/orders/{order_id}/provisioningstatus", provisioning_status),
    ("POST", "/customers/{customer_id}/carts", create_cart),
    ("GET", "/customers/{customer_id}/carts/{cart_id}", get_cart),
    ("PUT", "/customers/{customer_id}/carts/{cart_id}", update_cart),
    ("POST", "/customers/{customer_id}/carts/{cart_id}/checkout", checkout),
]
