"""Orders and carts: 201s, asynchronous provisioning on the emulator clock, validation codes,
checkout with partial success, and the catalog they buy from."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ADATUM, FABRIKAM, World

BASIC = "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
PREMIUM = "CFQ7TTC0LCHC:0002:CFQ7TTC0HB8Z"
VISIO = "4B244418-9658-4451-A2B8-B5B2B7D1F06E"
#: New-commerce Visio Plan 2: what orders buy today (a legacy offer is refused, 2091).
VISIO_NCE = "CFQ7TTC0HD32:0002:CFQ7TTC0J1FV"


def _order(*lines: tuple[str, int], customer: str = FABRIKAM) -> dict[str, Any]:
    return {
        "referenceCustomerId": customer,
        "billingCycle": "monthly",
        "lineItems": [
            {
                "lineItemNumber": n,
                "offerId": o,
                "quantity": q,
                "friendlyName": f"line {n}",
                "termDuration": "P1Y",
            }
            for n, (o, q) in enumerate(lines)
        ],
    }


def test_a_new_order_is_pending_until_the_provisioning_delay_passes(world: World) -> None:
    world.emu.control.set_limits(provisioning_delay_seconds=120)
    world.accept(FABRIKAM)
    api = world.api("central")
    reply = api.post(f"/customers/{FABRIKAM}/orders", _order((BASIC, 25), (VISIO_NCE, 3)))
    assert reply.status_code == 201
    order = reply.json()
    assert order["status"] == "pending" and order["attributes"]["objectType"] == "Order"
    assert all("subscriptionId" not in li for li in order["lineItems"])
    subs = api.get(f"/customers/{FABRIKAM}/subscriptions?order_id={order['id']}").json()
    assert [s["status"] for s in subs["items"]] == ["pending", "pending"]
    world.control("POST", "/clock/advance", {"seconds": 60})
    assert api.get(f"/customers/{FABRIKAM}/orders/{order['id']}").json()["status"] == "pending"
    world.control("POST", "/clock/advance", {"seconds": 61})
    done = api.get(f"/customers/{FABRIKAM}/orders/{order['id']}").json()
    assert done["status"] == "completed"
    subs = api.get(f"/customers/{FABRIKAM}/subscriptions?order_id={order['id']}").json()
    assert [s["status"] for s in subs["items"]] == ["active", "active"]
    assert {li["subscriptionId"] for li in done["lineItems"]} == {s["id"] for s in subs["items"]}
    assert [s["friendlyName"] for s in subs["items"]] == ["line 0", "line 1"]
    status = api.get(done["links"]["provisioningStatus"]["uri"]).json()["items"]
    assert [s["status"] for s in status] == ["Fulfilled", "Fulfilled"]


def test_provisioning_delay_zero_completes_by_the_next_read(world: World) -> None:
    api = world.api("de")
    order = api.post(f"/customers/{FABRIKAM}/orders", _order((VISIO_NCE, 1))).json()
    assert order["status"] == "pending"
    assert api.get(f"/customers/{FABRIKAM}/orders/{order['id']}").json()["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"lineItems": []}, 800002),
        ({"lineItems": [{"lineItemNumber": 1, "offerId": VISIO_NCE, "quantity": 1}]}, 800071),
        ({"lineItems": [{"lineItemNumber": 0, "offerId": "NOPE-NOPE", "quantity": 1}]}, 800004),
        ({"lineItems": [{"lineItemNumber": 0, "offerId": BASIC, "quantity": 301}]}, 2002),
        ({"lineItems": [{"lineItemNumber": 0, "offerId": BASIC}]}, 800002),
        (
            {
                "referenceCustomerId": ADATUM,
                "lineItems": [{"lineItemNumber": 0, "offerId": VISIO_NCE, "quantity": 1}],
            },
            800002,
        ),
    ],
)
def test_invalid_orders_are_400_with_documented_codes(
    world: World, body: dict[str, Any], code: int
) -> None:
    reply = world.api("de").post(f"/customers/{FABRIKAM}/orders", body)
    assert reply.status_code == 400 and reply.json()["code"] == code
    assert world.api("de").get(f"/customers/{FABRIKAM}/orders").json()["items"] == []


def test_orders_list_and_get_are_per_partner(world: World) -> None:
    world.accept(FABRIKAM)
    mine = world.api("de").post(f"/customers/{FABRIKAM}/orders", _order((VISIO_NCE, 2))).json()
    world.control("POST", "/clock/advance", {"minutes": 15})  # the order list's lag
    listed = world.api("de").get(f"/customers/{FABRIKAM}/orders").json()
    assert [o["id"] for o in listed["items"]] == [mine["id"]]
    assert world.api("central").get(f"/customers/{FABRIKAM}/orders").json()["items"] == []
    other = world.api("central").get(f"/customers/{FABRIKAM}/orders/{mine['id']}")
    assert other.status_code == 404 and other.json()["code"] == 20000


def _cart(world: World, lines: list[dict[str, Any]]) -> dict[str, Any]:
    world.accept(FABRIKAM)
    reply = world.api("central").post(f"/customers/{FABRIKAM}/carts", {"lineItems": lines})
    assert reply.status_code == 201
    return dict(reply.json())


def test_cart_checkout_creates_orders_and_reports_failed_groups(world: World) -> None:
    cart = _cart(
        world,
        [
            {
                "id": 0,
                "catalogItemId": BASIC,
                "quantity": 10,
                "billingCycle": "monthly",
                "termDuration": "P1Y",
                "friendlyName": "bb",
            },
            {
                "id": 1,
                "catalogItemId": PREMIUM,
                "quantity": 999,
                "billingCycle": "annual",
                "termDuration": "P1Y",
            },
        ],
    )
    assert cart["status"] == "Active" and cart["lineItems"][0]["currencyCode"] == "EUR"
    assert "error" not in cart["lineItems"][0]
    assert cart["lineItems"][1]["error"]["errorCode"] == 10015
    api = world.api("central")
    result = api.post(f"/customers/{FABRIKAM}/carts/{cart['id']}/checkout").json()
    assert result["attributes"]["objectType"] == "CartCheckoutResult"
    assert len(result["orders"]) == 1 and result["orders"][0]["lineItems"][0]["offerId"] == BASIC
    assert [(e["orderGroupId"], e["code"]) for e in result["orderErrors"]] == [("1", 800002)]
    assert api.get(f"/customers/{FABRIKAM}/carts/{cart['id']}").json()["status"] == "Ordered"
    twice = api.post(f"/customers/{FABRIKAM}/carts/{cart['id']}/checkout")
    assert twice.status_code == 400 and twice.json()["code"] == 800065
    # The history says which orders a checkout placed, and from which cart.
    placed = [e for e in world.emu.control.history() if e["action"] == "order.create"]
    assert [e["changes"] for e in placed] == [
        {"orderId": [None, result["orders"][0]["id"]], "cartId": [None, cart["id"]]}
    ]
    subs = api.get(f"/customers/{FABRIKAM}/subscriptions").json()["items"]
    assert [(s["offerId"], s["quantity"], s["friendlyName"]) for s in subs] == [(BASIC, 10, "bb")]


def test_cart_line_errors_for_unknown_and_legacy_items(world: World) -> None:
    cart = _cart(
        world,
        [{"catalogItemId": "XXX:0001:YYY", "quantity": 1}, {"catalogItemId": VISIO, "quantity": 1}],
    )
    assert [li["error"]["errorCode"] for li in cart["lineItems"]] == [10001, 500600]


def test_cart_update_and_unknown_cart(world: World) -> None:
    cart = _cart(world, [{"catalogItemId": BASIC, "quantity": 1, "termDuration": "P1M"}])
    api = world.api("central")
    cart["lineItems"][0]["quantity"] = 4
    updated = api.call("PUT", f"/customers/{FABRIKAM}/carts/{cart['id']}", cart).json()
    assert updated["lineItems"][0]["quantity"] == 4
    missing = api.get(f"/customers/{FABRIKAM}/carts/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["code"] == 800008


def test_catalog_products_skus_availabilities_and_offers(world: World) -> None:
    api = world.api("central")
    products = api.get("/products?country=IE&targetView=OnlineServices").json()["items"]
    assert {"CFQ7TTC0LH18", "CFQ7TTC0LF8Q", "CFQ7TTC0LCHC"} <= {p["id"] for p in products}
    skus = api.get("/products/CFQ7TTC0LCHC/skus?country=IE").json()["items"]
    assert [s["id"] for s in skus] == ["0002"]
    avail = api.get("/products/CFQ7TTC0LCHC/skus/0002/availabilities?country=IE").json()
    assert avail["items"][0]["catalogItemId"] == PREMIUM
    terms = {(t["duration"], t["billingCycle"]) for t in avail["items"][0]["terms"]}
    assert ("P1Y", "monthly") in terms
    azure = api.get("/products?targetView=MicrosoftAzure").json()["items"]
    assert [p["id"] for p in azure] == ["DZH318Z0BPS6"]
    scoped = api.get(f"/customers/{FABRIKAM}/products/CFQ7TTC0LH18/skus/0001/availabilities")
    assert scoped.status_code == 403  # not yet a customer of central
    offer = api.get(f"/offers/{VISIO}?country=IE").json()
    assert offer["name"] == "Visio Online Plan 2" and offer["billing"] == "license"
    assert api.get(f"/offers/{BASIC}").json()["code"] == 2100
    assert api.get("/products/NOPE").json()["code"] == 400013
    assert api.get("/products/CFQ7TTC0LH18/skus/9999").json()["code"] == 400018


def test_offers_are_offset_paged(world: World) -> None:
    api = world.api("de")
    first = api.get("/offers?country=DE&size=3").json()
    assert len(first["items"]) == 3 and "offset=3" in first["links"]["next"]["uri"]
    rest = api.get(first["links"]["next"]["uri"]).json()
    assert len(rest["items"]) == 2 and "next" not in rest["links"]
