"""Catalog routes: legacy offers (offset-paged) and products / SKUs / availabilities, global
(``?country=``) and customer-scoped (the customer's country). Read-only; must not touch
customer state.
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.catalog import reissued
from reconciler.emulator.engine import Engine
from reconciler.emulator.protocol import ApiFault, Request, Response, RouteTable, collection


def _country(engine: Engine, req: Request) -> str:
    assert req.principal is not None
    default = engine.world.partners[req.principal.tenant_id].country
    return req.query.get("country", default).upper()


def _currency(engine: Engine, req: Request) -> str:
    assert req.principal is not None
    return engine.world.partners[req.principal.tenant_id].currency


def list_offers(engine: Engine, req: Request) -> Response:
    """``GET /offers?country=&offset=&size=``."""
    country = _country(engine, req)
    offset = int(req.query.get("offset", "0") or 0)
    size = int(req.query.get("size", "100") or 100)
    offers = list(engine.world.catalog.offers.values())
    page = [engine.world.catalog.offer_json(o, country) for o in offers[offset : offset + size]]
    nxt = None
    if offset + size < len(offers):
        nxt = {
            "uri": f"/offers?country={country}&offset={offset + size}&size={size}",
            "method": "GET",
            "headers": [],
        }
    return Response(200, collection(page, f"/offers?country={country}", next=nxt))


def get_offer(engine: Engine, req: Request, offer_id: str) -> Response:
    """``GET /offers/{id}``; catalog-style (NCE) ids are rejected with 400 2100."""
    if ":" in offer_id:
        raise ApiFault(
            400,
            2100,
            f"The offers API does not accept catalog item ids ('{offer_id}'); use /products.",
        )
    offer = engine.world.catalog.offers.get(offer_id.upper())
    if offer is None:
        raise ApiFault(404, 400013, f"Offer {offer_id} not found.")
    return Response(200, engine.world.catalog.offer_json(offer, _country(engine, req)))


def _product(engine: Engine, pid: str) -> dict[str, Any]:
    product: dict[str, Any] | None = engine.world.catalog.products.get(pid.upper())
    if product is None:
        raise ApiFault(404, 400013, f"Product {pid} not found.")
    return product


def _sku(engine: Engine, pid: str, sid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    product = _product(engine, pid)
    sku = next((s for s in product["skus"] if s["id"].upper() == sid.upper()), None)
    if sku is None:
        raise ApiFault(404, 400018, f"SKU {sid} of product {pid} not found.")
    return product, sku


def list_products(engine: Engine, req: Request, customer_id: str = "") -> Response:
    """``GET [/customers/{id}]/products?targetView=``."""
    country = _scope(engine, req, customer_id)
    view = req.query.get("targetview", "").lower()
    items = [
        engine.world.catalog.product_json(p, country)
        for p in engine.world.catalog.products.values()
        if not view
        or p.get("targetView", "").lower() == view
        or (view == "onlineservices" and p.get("productType") == "OnlineServicesNCE")
    ]
    return Response(200, collection(items, "/products"))


def get_product(engine: Engine, req: Request, pid: str, customer_id: str = "") -> Response:
    """``GET [/customers/{id}]/products/{pid}``."""
    country = _scope(engine, req, customer_id)
    return Response(200, engine.world.catalog.product_json(_product(engine, pid), country))


def list_skus(engine: Engine, req: Request, pid: str, customer_id: str = "") -> Response:
    """``GET [/customers/{id}]/products/{pid}/skus``."""
    country = _scope(engine, req, customer_id)
    product = _product(engine, pid)
    items = [engine.world.catalog.sku_json(product, s, country) for s in product["skus"]]
    return Response(200, collection(items, f"/products/{pid}/skus"))


def get_sku(engine: Engine, req: Request, pid: str, sid: str, customer_id: str = "") -> Response:
    """``GET [/customers/{id}]/products/{pid}/skus/{sid}``."""
    country = _scope(engine, req, customer_id)
    product, sku = _sku(engine, pid, sid)
    return Response(200, engine.world.catalog.sku_json(product, sku, country))


def list_availabilities(
    engine: Engine, req: Request, pid: str, sid: str, customer_id: str = ""
) -> Response:
    """``GET [/customers/{id}]/products/{pid}/skus/{sid}/availabilities``."""
    country = _scope(engine, req, customer_id)
    product, sku = _sku(engine, pid, sid)
    cat, cur = engine.world.catalog, _currency(engine, req)
    items = [
        cat.availability_json(product, sku, a, country, cur) for a in _current(engine, product, sku)
    ]
    return Response(200, collection(items, f"/products/{pid}/skus/{sid}/availabilities"))


def _current(engine: Engine, product: dict[str, Any], sku: dict[str, Any]) -> list[dict[str, Any]]:
    """The SKU's availabilities with today's ids (new-commerce licenses are reissued on the
    emulator clock, ``availability_rotation_days``; the Azure plan's stay)."""
    if product.get("productType") == "Azure":
        return list(sku["availabilities"])
    generation = engine.availability_generation()
    return [{**a, "id": reissued(a["id"], generation)} for a in sku["availabilities"]]


def get_availability(
    engine: Engine, req: Request, pid: str, sid: str, aid: str, customer_id: str = ""
) -> Response:
    """``GET [/customers/{id}]/products/{pid}/skus/{sid}/availabilities/{aid}``."""
    country = _scope(engine, req, customer_id)
    product, sku = _sku(engine, pid, sid)
    avail = next(
        (a for a in _current(engine, product, sku) if a["id"].upper() == aid.upper()), None
    )
    if avail is None:
        raise ApiFault(404, 400013, f"Availability {aid} not found.")
    return Response(
        200,
        engine.world.catalog.availability_json(
            product, sku, avail, country, _currency(engine, req)
        ),
    )


def _scope(engine: Engine, req: Request, customer_id: str) -> str:
    if customer_id:
        return engine.customer_for(req.principal, customer_id).country.upper()
    return _country(engine, req)


_P = "/products/{pid}"
_S = _P + "/skus/{sid}"
_C = "/customers/{customer_id}"
ROUTES: RouteTable = [
    ("GET", "/offers", list_offers),
    ("GET", "/offers/{offer_id}", get_offer),
    ("GET", "/products", list_products),
    ("GET", _P, get_product),
    ("GET", _P + "/skus", list_skus),
    ("GET", _S, get_sku),
    ("GET", _S + "/availabilities", list_availabilities),
    ("GET", _S + "/availabilities/{aid}", get_availability),
    ("GET", _C + "/products", list_products),
    ("GET", _C + _P, get_product),
    ("GET", _C + _P + "/skus", list_skus),
    ("GET", _C + _S, get_sku),
    ("GET", _C + _S + "/availabilities", list_availabilities),
    ("GET", _C + _S + "/availabilities/{aid}", get_availability),
]
