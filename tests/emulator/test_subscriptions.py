"""Subscriptions: the unpaged list, get, and the full-resource PATCH with its documented
rules (auto-renew reset, etags, suspension, new-commerce windows on a moved clock, 202 mode)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FABRIKAM, NORTHWIND, WOODGROVE, Api, World, sub_id

BASIC = "CFQ7TTC0LH18:0001:CFQ7TTC0K971"


def _path(customer: str, sid: str) -> str:
    return f"/customers/{customer}/subscriptions/{sid}"


def _patch(api: Api, customer: str, sid: str, **changes: Any) -> Any:
    """GET the subscription, change fields, PATCH the whole resource back."""
    current = api.get(_path(customer, sid)).json()
    current.update(changes)
    return api.patch(_path(customer, sid), current)


def _buy(world: World, customer: str = NORTHWIND, quantity: int = 10) -> str:
    """Buy an NCE subscription as de now; return its id (active: delay is 0)."""
    api = world.api("de")
    order = api.post(
        f"/customers/{customer}/orders",
        {
            "referenceCustomerId": customer,
            "billingCycle": "monthly",
            "lineItems": [
                {"lineItemNumber": 0, "offerId": BASIC, "quantity": quantity, "termDuration": "P1Y"}
            ],
        },
    ).json()
    subs = api.get(f"/customers/{customer}/subscriptions?order_id={order['id']}").json()
    return str(subs["items"][0]["id"])


def test_the_subscription_list_is_one_unpaged_collection(world: World) -> None:
    body = world.api("de").get(f"/customers/{FABRIKAM}/subscriptions").json()
    assert body["attributes"]["objectType"] == "Collection" and "next" not in body["links"]
    by_id = {s["id"]: s for s in body["items"]}
    assert set(by_id) == {sub_id("d001"), sub_id("d002"), sub_id("d0a1")}
    e3 = by_id[sub_id("d001")]
    assert (e3["offerId"], e3["quantity"], e3["billingCycle"], e3["status"]) == (
        "796B6B5F-613C-4E24-A17C-EBA730D49C02",
        25,
        "annual",
        "active",
    )
    assert e3["links"]["offer"]["uri"].startswith("/offers/")
    azure = by_id[sub_id("d0a1")]
    assert (azure["billingType"], azure["unitType"], azure["quantity"]) == (
        "usage",
        "Usage-based",
        1,
    )
    assert azure["entitlementId"]


def test_nce_subscriptions_show_their_windows(world: World) -> None:
    old = world.api("de").get(_path(NORTHWIND, sub_id("d003"))).json()
    assert old["productType"]["id"] == "OnlineServicesNCE" and old["termDuration"] == "P1Y"
    assert old["cancellationAllowedUntilDate"] is None  # bought ~200 days ago
    assert old["refundableQuantity"]["totalQuantity"] == 0
    fresh = world.api("de").get(_path(NORTHWIND, _buy(world))).json()
    assert fresh["cancellationAllowedUntilDate"] is not None
    assert fresh["refundableQuantity"]["totalQuantity"] == 10
    assert fresh["links"]["availability"]["uri"].startswith("/products/CFQ7TTC0LH18/skus/0001")


def test_get_another_partners_subscription_is_404_20003(world: World) -> None:
    world.accept(FABRIKAM)
    reply = world.api("central").get(_path(FABRIKAM, sub_id("d001")))
    assert reply.status_code == 404 and reply.json()["code"] == 20003


def test_patch_changes_quantity_and_the_etag(world: World) -> None:
    api = world.api("de")
    before = api.get(_path(FABRIKAM, sub_id("d001"))).json()
    reply = _patch(api, FABRIKAM, sub_id("d001"), quantity=30)
    assert reply.status_code == 200
    assert reply.json()["quantity"] == 30 and reply.json()["autoRenewEnabled"] is True
    assert reply.json()["attributes"]["etag"] != before["attributes"]["etag"]


def test_omitting_auto_renew_turns_it_off(world: World) -> None:
    api = world.api("de")
    body = api.get(_path(NORTHWIND, sub_id("d003"))).json()
    del body["autoRenewEnabled"]
    body["friendlyName"] = "renamed"
    reply = api.patch(_path(NORTHWIND, sub_id("d003")), body)
    assert reply.json()["autoRenewEnabled"] is False and reply.json()["friendlyName"] == "renamed"


def test_any_case_is_accepted_on_input(world: World) -> None:
    api = world.api("de")
    body = api.get(_path(FABRIKAM, sub_id("d002"))).json()
    reply = api.patch(
        _path(FABRIKAM, sub_id("d002")),
        {
            "Id": body["id"],
            "Status": "suspended",
            "Quantity": 3,
            "AutoRenewEnabled": True,
            "BillingCycle": "monthly",
        },
    )
    assert reply.status_code == 200 and reply.json()["status"] == "suspended"


@pytest.mark.parametrize("status", [None, 412])
def test_a_stale_etag_is_2055_with_400_or_412_behind_the_switch(
    world: World, status: int | None
) -> None:
    if status is not None:
        world.emu.control.set_limits(stale_etag_status=status)
    api = world.api("de")
    body = api.get(_path(FABRIKAM, sub_id("d001"))).json()
    stale = body["attributes"]["etag"]
    _patch(api, FABRIKAM, sub_id("d001"), quantity=26)
    body["quantity"] = 27
    reply = api.patch(_path(FABRIKAM, sub_id("d001")), body, If_Match=f'"{stale}"')
    # Today's error list: 400 code 2055 "Etag is no longer valid" (older documents: 412).
    assert reply.status_code == (status or 400) and reply.json()["code"] == 2055
    assert api.get(_path(FABRIKAM, sub_id("d001"))).json()["quantity"] == 26
    fresh = api.get(_path(FABRIKAM, sub_id("d001"))).json()
    fresh["quantity"] = 27
    ok = api.patch(
        _path(FABRIKAM, sub_id("d001")), fresh, If_Match=f'"{fresh["attributes"]["etag"]}"'
    )
    assert ok.status_code == 200 and ok.json()["quantity"] == 27


@pytest.mark.parametrize(
    ("sid", "changes", "code"),
    [
        ("d002", {"billingCycle": "annual"}, 2054),
        ("d001", {"quantity": 0}, 2002),
        ("d001", {"status": "deleted"}, 800096),  # legacy cannot be cancelled
        ("d0a1", {"quantity": 5}, 800095),
        ("d001", {"status": "bogus"}, 800096),
    ],
)
def test_refused_changes_carry_documented_codes(
    world: World, sid: str, changes: dict[str, Any], code: int
) -> None:
    reply = _patch(world.api("de"), FABRIKAM, sub_id(sid), **changes)
    assert reply.status_code == 400 and reply.json()["code"] == code
    assert reply.json()["source"] == "PartnerFD"


def test_no_quantity_change_while_suspended(world: World) -> None:
    api = world.api("de")
    assert _patch(api, FABRIKAM, sub_id("d002"), status="suspended").status_code == 200
    reply = _patch(api, FABRIKAM, sub_id("d002"), quantity=5)
    assert reply.status_code == 400 and reply.json()["code"] == 2001
    back = _patch(api, FABRIKAM, sub_id("d002"), status="active")
    assert back.json()["status"] == "active"


def test_nce_suspension_turns_auto_renew_off(world: World) -> None:
    reply = _patch(world.api("de"), WOODGROVE, sub_id("d004"), status="suspended")
    assert reply.json()["status"] == "suspended" and reply.json()["autoRenewEnabled"] is False
    assert reply.json()["refundableQuantity"] is None


def test_nce_cancel_inside_the_window_and_not_after(world: World) -> None:
    api = world.api("de")
    sid = _buy(world)
    reply = _patch(api, NORTHWIND, sid, status="deleted")
    assert reply.status_code == 200 and reply.json()["status"] == "deleted"
    again = _patch(api, NORTHWIND, sid, status="active")
    assert again.status_code == 400 and again.json()["code"] == 2011
    late = _buy(world)
    world.control("POST", "/clock/advance", {"days": 8})
    refused = _patch(api, NORTHWIND, late, status="deleted")
    assert refused.status_code == 400 and refused.json()["code"] == 900117
    assert api.get(_path(NORTHWIND, late)).json()["cancellationAllowedUntilDate"] is None
    old = _patch(api, NORTHWIND, sub_id("d003"), status="deleted")
    assert old.json()["code"] == 900117


def test_nce_seat_reduction_only_within_seven_days_of_adding_them(world: World) -> None:
    api = world.api("de")
    sid = _buy(world, quantity=10)
    assert _patch(api, NORTHWIND, sid, quantity=7).json()["quantity"] == 7
    world.control("POST", "/clock/advance", {"days": 8})
    refused = _patch(api, NORTHWIND, sid, quantity=6)
    assert refused.status_code == 400 and refused.json()["code"] == 800090
    grown = _patch(api, NORTHWIND, sid, quantity=12)  # new seats get a window of their own
    assert grown.json()["refundableQuantity"]["totalQuantity"] == 5
    assert _patch(api, NORTHWIND, sid, quantity=8).json()["quantity"] == 8
    assert _patch(api, NORTHWIND, sid, quantity=6).json()["code"] == 800090
    # Increases are always allowed, also outside any window.
    assert _patch(api, NORTHWIND, sub_id("d003"), quantity=45).json()["quantity"] == 45
    assert _patch(api, NORTHWIND, sub_id("d003"), quantity=39).json()["code"] == 800090
    assert _patch(api, NORTHWIND, sub_id("d003"), quantity=40).json()["quantity"] == 40


def test_async_mode_answers_202_with_location_and_applies_later(world: World) -> None:
    world.emu.control.set_limits(patch_async=True, provisioning_delay_seconds=60)
    api = world.api("de")
    reply = _patch(api, FABRIKAM, sub_id("d001"), quantity=40)
    assert reply.status_code == 202 and reply.content == b""
    location = reply.headers["Location"]
    assert location == f"/v1/customers/{FABRIKAM}/subscriptions/{sub_id('d001')}"
    assert api.get(location[3:]).json()["quantity"] == 25
    busy = _patch(api, FABRIKAM, sub_id("d001"), quantity=41)
    assert busy.status_code == 409 and busy.json()["code"] == 900278
    world.control("POST", "/clock/advance", {"seconds": 61})
    assert api.get(location[3:]).json()["quantity"] == 40


def test_subscriptions_by_order_id(world: World) -> None:
    sid = _buy(world)
    api = world.api("de")
    order_id = api.get(_path(NORTHWIND, sid)).json()["orderId"]
    body = api.get(f"/customers/{NORTHWIND}/subscriptions?order_id={order_id}").json()
    assert [s["id"] for s in body["items"]] == [sid]
    none = api.get(f"/customers/{NORTHWIND}/subscriptions?order_id=nope").json()
    assert none["items"] == []
