"""Today's commerce rules (issue 12 point 5): legacy license offers are no longer sold, and
new-commerce availability ids are reissued on a schedule (emulator clock). Each is a switch
(docs/emulator.md, "Today's commerce rules"); these tests hold the emulator to both sides."""

from __future__ import annotations

from typing import Any

from conftest import FABRIKAM, World

LEGACY_VISIO = "4B244418-9658-4451-A2B8-B5B2B7D1F06E"
BASIC_PRODUCT, BASIC_SKU, SEEDED = "CFQ7TTC0LH18", "0001", "CFQ7TTC0K971"
AVAILABILITIES = f"/customers/{FABRIKAM}/products/{BASIC_PRODUCT}/skus/{BASIC_SKU}/availabilities"


def _order(offer_id: str) -> dict[str, Any]:
    return {
        "referenceCustomerId": FABRIKAM,
        "lineItems": [{"lineItemNumber": 0, "offerId": offer_id, "quantity": 1}],
    }


def _line(catalog_item_id: str) -> dict[str, Any]:
    return {
        "id": 0,
        "catalogItemId": catalog_item_id,
        "quantity": 2,
        "billingCycle": "monthly",
        "termDuration": "P1M",
        "friendlyName": "bb",
    }


def test_a_legacy_license_order_is_refused_with_2091_and_nothing_is_bought(world: World) -> None:
    api = world.api("de")
    reply = api.post(f"/customers/{FABRIKAM}/orders", _order(LEGACY_VISIO))
    assert reply.status_code == 403 and reply.json()["code"] == 2091
    assert "no longer available for purchase" in reply.json()["description"]
    assert api.get(f"/customers/{FABRIKAM}/orders").json()["items"] == []


def test_a_legacy_license_cart_line_carries_500600(world: World) -> None:
    world.accept(FABRIKAM)
    cart = world.api("central").post(
        f"/customers/{FABRIKAM}/carts", {"lineItems": [_line(LEGACY_VISIO)]}
    )
    assert cart.json()["lineItems"][0]["error"]["errorCode"] == 500600


def test_with_the_switch_off_legacy_orders_are_accepted_as_in_2020(world: World) -> None:
    world.emu.control.set_limits(refuse_legacy_purchases=False)
    reply = world.api("de").post(f"/customers/{FABRIKAM}/orders", _order(LEGACY_VISIO))
    assert reply.status_code == 201
    assert reply.json()["lineItems"][0]["offerId"] == LEGACY_VISIO


def _current(world: World) -> dict[str, Any]:
    items = world.api("central").get(f"{AVAILABILITIES}?targetView=OnlineServices").json()
    [only] = items["items"]
    return dict(only)


def test_availability_ids_are_reissued_and_old_ones_become_invalid_cart_items(
    world: World,
) -> None:
    world.accept(FABRIKAM)
    api = world.api("central")
    first = _current(world)
    assert first["id"] == SEEDED and first["catalogItemId"].endswith(f":{SEEDED}")
    assert ("P1M", "monthly") in {(t["duration"], t["billingCycle"]) for t in first["terms"]}
    world.control("POST", "/clock/advance", {"days": 31})
    fresh = _current(world)
    assert fresh["id"] != SEEDED

    def shape(terms: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {(t["duration"], t["billingCycle"]) for t in terms}

    assert shape(fresh["terms"]) == shape(first["terms"])
    assert fresh["catalogItemId"] == f"{BASIC_PRODUCT}:{BASIC_SKU}:{fresh['id']}"
    one = api.get(f"{AVAILABILITIES}/{fresh['id']}")
    assert one.status_code == 200 and one.json()["id"] == fresh["id"]
    assert api.get(f"{AVAILABILITIES}/{SEEDED}").status_code == 404
    stale = api.post(f"/customers/{FABRIKAM}/carts", {"lineItems": [_line(first["catalogItemId"])]})
    assert stale.json()["lineItems"][0]["error"]["errorCode"] == 10001
    good = api.post(f"/customers/{FABRIKAM}/carts", {"lineItems": [_line(fresh["catalogItemId"])]})
    assert "error" not in good.json()["lineItems"][0]
    result = api.post(f"/customers/{FABRIKAM}/carts/{good.json()['id']}/checkout").json()
    assert result["orderErrors"] == []
    assert result["orders"][0]["lineItems"][0]["offerId"] == fresh["catalogItemId"]


def test_a_cart_line_that_goes_stale_before_checkout_fails_its_order_group(world: World) -> None:
    world.accept(FABRIKAM)
    api = world.api("central")
    cart = api.post(
        f"/customers/{FABRIKAM}/carts", {"lineItems": [_line(_current(world)["catalogItemId"])]}
    )
    world.control("POST", "/clock/advance", {"days": 31})
    result = api.post(f"/customers/{FABRIKAM}/carts/{cart.json()['id']}/checkout").json()
    assert result["orders"] == [] and len(result["orderErrors"]) == 1
    assert api.get(f"/customers/{FABRIKAM}/subscriptions").json()["items"] == []


def test_with_rotation_off_the_seeded_availability_stays(world: World) -> None:
    world.emu.control.set_limits(availability_rotation_days=0)
    world.accept(FABRIKAM)
    world.control("POST", "/clock/advance", {"days": 400})
    assert _current(world)["id"] == SEEDED
