"""Partner-to-partner transfers: create by the target (with the fields Microsoft requires),
accept or reject by the source, cancel by the target, expiry after 30 days; completed lines
name an order whose subscriptions are the twins; Azure plan transfers need the target's
active Azure plan; billing moves without overlap or gap."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import CENTRAL, DE, FABRIKAM, NORTHWIND, WOODGROVE, World, sub_id

PREMIUM = sub_id("d004")
AZURE_PLAN = sub_id("d0a2")
REQUIRED = {
    "sourcePartnerTenantId": DE,
    "sourcePartnerName": "Contoso Deutschland",
    "customerEmailId": "billing@woodgrove.example",
}


def _create(world: World, customer: str = WOODGROVE, **extra: Any) -> Any:
    world.accept(customer)
    body = {**REQUIRED, "customerName": "Woodgrove", "transferType": 5, **extra}
    return world.api("central").post(f"/customers/{customer}/transfers", body)


def _accept(world: World, transfer: dict[str, Any], *lines: dict[str, Any]) -> Any:
    return world.api("de").patch(
        f"/customers/{transfer['customerTenantId']}/transfers/{transfer['id']}",
        {"id": transfer["id"], "status": "Complete", "lineItems": list(lines)},
    )


def test_target_creates_and_both_sides_see_the_request(world: World) -> None:
    reply = _create(world)
    assert reply.status_code == 201
    transfer = reply.json()
    assert transfer["status"] == "InProgress" and transfer["sourcePartnerTenantId"] == DE
    assert transfer["targetPartnerTenantId"] == CENTRAL
    assert transfer["attributes"]["objectType"] == "TransferEntity"
    listed = world.api("de").get(f"/customers/{WOODGROVE}/transfers").json()
    assert isinstance(listed, list), "Microsoft's example lists transfers as a bare array"
    assert [t["id"] for t in listed] == [transfer["id"]]
    assert (
        transfer["sourcePartnerName"] and transfer["customerEmailId"] == REQUIRED["customerEmailId"]
    )
    got = world.api("de").get(f"/customers/{WOODGROVE}/transfers/{transfer['id']}").json()
    assert got["status"] == "InProgress"


def test_source_accepts_and_the_subscription_moves(world: World) -> None:
    transfer = _create(world).json()
    de = world.api("de")
    accept = de.patch(
        f"/customers/{WOODGROVE}/transfers/{transfer['id']}",
        {
            "id": transfer["id"],
            "status": "Complete",
            "lineItems": [{"subscriptionId": PREMIUM, "quantity": 18}],
        },
    )
    assert accept.status_code == 200
    done = de.get(f"/customers/{WOODGROVE}/transfers/{transfer['id']}").json()
    assert done["status"] == "Complete" and done["completedTime"]
    source = de.get(f"/customers/{WOODGROVE}/subscriptions/{PREMIUM}").json()
    assert source["status"] == "deleted"
    target = world.api("central").get(f"/customers/{WOODGROVE}/subscriptions").json()["items"]
    assert [(s["offerId"], s["quantity"], s["status"]) for s in target] == [
        ("CFQ7TTC0LCHC:0002:CFQ7TTC0HB8Z", 18, "active")
    ]
    assert target[0]["commitmentEndDate"] == source["commitmentEndDate"]  # term carried over
    line = done["lineItems"][0]
    assert "targetSubscriptionId" not in line, "Microsoft documents an orderId, not the twin"
    by_order = world.api("central").get(
        f"/customers/{WOODGROVE}/subscriptions?order_id={line['orderId']}"
    )
    assert [s["id"] for s in by_order.json()["items"]] == [target[0]["id"]]
    world.control("POST", "/clock/advance", {"days": 3})
    rows = world.emu.control.ledger(customer_id=WOODGROVE)
    premium = [r for r in rows if r["offerId"].startswith("CFQ7TTC0LCHC") and r["billed"]]
    days = [r["date"] for r in premium]
    assert len(days) == len(set(days)), "a day billed twice"
    assert len(days) == 4, "every day billed to exactly one partner"
    assert {r["partner"] for r in premium} == {"central"}


def test_rules_on_who_may_do_what(world: World) -> None:
    assert _create(world, sourcePartnerTenantId=CENTRAL).json()["code"] == 900148
    transfer = _create(world).json()
    duplicate = _create(world)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == 900101
    path = f"/customers/{WOODGROVE}/transfers/{transfer['id']}"
    by_target = world.api("central").patch(
        path, {"status": "Complete", "lineItems": [{"subscriptionId": PREMIUM}]}
    )
    assert by_target.status_code == 403
    by_source = world.api("de").patch(path, {"status": "Cancel"})
    assert by_source.status_code == 403
    legacy = world.api("de").patch(
        path, {"status": "Complete", "lineItems": [{"subscriptionId": sub_id("d005")}]}
    )
    assert legacy.status_code == 400 and legacy.json()["code"] == 900146
    cancel = world.api("central").patch(path, {"id": transfer["id"], "status": "Cancel"})
    assert cancel.json()["status"] == "Canceled"
    late = world.api("de").patch(
        path, {"status": "Complete", "lineItems": [{"subscriptionId": PREMIUM}]}
    )
    assert late.status_code == 400


def test_unanswered_requests_expire_after_30_days(world: World) -> None:
    transfer = _create(world).json()
    world.control("POST", "/clock/advance", {"days": 29})
    path = f"/customers/{WOODGROVE}/transfers/{transfer['id']}"
    assert world.api("central").get(path).json()["status"] == "InProgress"
    world.control("POST", "/clock/advance", {"days": 1, "minutes": 1})
    assert world.api("central").get(path).json()["status"] == "Expired"


def test_transfers_need_a_relationship_and_known_ids(world: World) -> None:
    denied = world.api("central").post(
        f"/customers/{FABRIKAM}/transfers", {"sourcePartnerTenantId": DE}
    )
    assert denied.status_code == 403 and denied.json()["code"] == 20002
    world.accept(FABRIKAM)
    missing = world.api("central").get(
        f"/customers/{FABRIKAM}/transfers/00000000-0000-4000-8000-000000000000"
    )
    assert missing.status_code == 404 and missing.json()["code"] == 900100


@pytest.mark.parametrize("field", sorted(REQUIRED))
def test_create_requires_microsofts_required_fields(world: World, field: str) -> None:
    world.accept(WOODGROVE)
    body = {k: v for k, v in REQUIRED.items() if k != field}
    reply = world.api("central").post(f"/customers/{WOODGROVE}/transfers", body)
    assert reply.status_code == 400 and field in reply.json()["description"]


def test_list_envelope_switch(world: World) -> None:
    transfer = _create(world).json()
    world.emu.control.set_limits(transfer_list_envelope=True)
    listed = world.api("central").get(f"/customers/{WOODGROVE}/transfers").json()
    assert [t["id"] for t in listed["items"]] == [transfer["id"]]


def test_source_rejects_and_the_request_ends(world: World) -> None:
    transfer = _create(world).json()
    path = f"/customers/{WOODGROVE}/transfers/{transfer['id']}"
    by_target = world.api("central").patch(path, {"id": transfer["id"], "status": "reject"})
    assert by_target.status_code == 403
    rejected = world.api("de").patch(path, {"id": transfer["id"], "status": "reject"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "Reject"
    assert world.api("central").get(path).json()["status"] == "Reject"
    again = _create(world)
    assert again.status_code == 201, "a rejected request no longer blocks a new one"
    premium = world.api("de").get(f"/customers/{WOODGROVE}/subscriptions/{PREMIUM}").json()
    assert premium["status"] == "active"


def test_accept_refuses_a_quantity_other_than_the_subscriptions(world: World) -> None:
    transfer = _create(world).json()
    wrong = _accept(world, transfer, {"subscriptionId": PREMIUM, "quantity": 5})
    assert wrong.status_code == 400 and "quantity" in wrong.json()["description"]


def _central_azure_plan(world: World, customer: str = NORTHWIND) -> str:
    api = world.api("central")
    cart = api.post(
        f"/customers/{customer}/carts",
        {
            "lineItems": [
                {
                    "id": 0,
                    "catalogItemId": "DZH318Z0BPS6:0001:DZH318Z0BML6",
                    "quantity": 1,
                    "billingCycle": "none",
                }
            ]
        },
    ).json()
    result = api.post(f"/customers/{customer}/carts/{cart['id']}/checkout", {}).json()
    assert not result.get("orderErrors"), result
    world.control("POST", "/clock/advance", {"minutes": 1})
    subs = api.get(f"/customers/{customer}/subscriptions").json()["items"]
    return next(s["id"] for s in subs if s["offerId"].startswith("DZH318Z0BPS6"))


def test_azure_plan_transfer_needs_the_targets_active_azure_plan(world: World) -> None:
    world.accept(NORTHWIND)
    body = {**REQUIRED, "targetProductTypes": ["AzureSubscription"]}
    path = f"/customers/{NORTHWIND}/transfers"
    none = world.api("central").post(path, body)
    assert none.status_code == 400 and none.json()["code"] == 900133
    plan = _central_azure_plan(world)
    transfer = world.api("central").post(path, body).json()
    assert transfer["targetProductTypes"] == ["AzureSubscription"]
    licenses = _accept(world, transfer, {"subscriptionId": sub_id("d003")})
    assert licenses.status_code == 400, "the request moves Azure only"
    assert _accept(world, transfer, {"subscriptionId": AZURE_PLAN}).status_code == 200
    world.control("POST", "/clock/advance", {"minutes": 1})
    done = world.api("central").get(f"{path}/{transfer['id']}").json()
    assert done["status"] == "Complete"
    by_order = world.api("central").get(
        f"/customers/{NORTHWIND}/subscriptions?order_id={done['lineItems'][0]['orderId']}"
    )
    assert [s["id"] for s in by_order.json()["items"]] == [plan]
    source = world.api("de").get(f"/customers/{NORTHWIND}/subscriptions/{AZURE_PLAN}").json()
    assert source["status"] == "deleted"
    world.control("POST", "/clock/advance", {"days": 2})
    rows = world.emu.control.ledger(customer_id=NORTHWIND)
    source_days = {r["date"] for r in rows if r["subscriptionId"] == AZURE_PLAN and r["billed"]}
    target_days = [r["date"] for r in rows if r["subscriptionId"] == plan and r["billed"]]
    assert all(day <= done["completedTime"][:10] for day in source_days), "source stops billing"
    assert len(target_days) == 3 and not source_days & set(target_days), "no overlap"


AZURE_ONLY = {**REQUIRED, "targetProductTypes": ["AzureSubscription"]}


def test_azure_plan_transfer_is_refused_while_the_source_holds_legacy_azure(world: World) -> None:
    # Fabrikam holds legacy Azure (MS-AZR-0145P, d0a1) with de: 900131, even once central
    # holds the customer's active Azure plan (Microsoft support moves legacy Azure).
    world.accept(FABRIKAM)
    _central_azure_plan(world, FABRIKAM)
    refused = world.api("central").post(f"/customers/{FABRIKAM}/transfers", AZURE_ONLY)
    assert refused.status_code == 400 and refused.json()["code"] == 900131
    licenses = world.api("central").post(
        f"/customers/{FABRIKAM}/transfers",
        {**REQUIRED, "targetProductTypes": ["OnlineServicesNCE"]},
    )
    assert licenses.status_code == 201, "a license-only request is not affected"


def test_azure_plan_transfer_needs_an_active_plan_and_an_mca_to_buy_one(world: World) -> None:
    world.accept(NORTHWIND)
    path = f"/customers/{NORTHWIND}/transfers"
    world.emu.control.set_customer_agreement(NORTHWIND, False)
    unbuyable = world.api("central").post(path, AZURE_ONLY)
    assert unbuyable.status_code == 400 and unbuyable.json()["code"] == 900134
    world.emu.control.set_customer_agreement(NORTHWIND, True)
    plan = _central_azure_plan(world)
    suspended = world.api("central").patch(
        f"/customers/{NORTHWIND}/subscriptions/{plan}", {"status": "suspended"}
    )
    assert suspended.status_code == 200, suspended.text
    inactive = world.api("central").post(path, AZURE_ONLY)
    assert inactive.status_code == 400 and inactive.json()["code"] == 900132


def test_one_request_moves_licenses_and_an_azure_plan_together(world: World) -> None:
    world.accept(NORTHWIND)
    plan = _central_azure_plan(world)
    both = {**REQUIRED, "targetProductTypes": ["OnlineServicesNCE", "AzureSubscription"]}
    path = f"/customers/{NORTHWIND}/transfers"
    transfer = world.api("central").post(path, both).json()
    accepted = _accept(
        world, transfer, {"subscriptionId": sub_id("d003")}, {"subscriptionId": AZURE_PLAN}
    )
    assert accepted.status_code == 200, accepted.text
    assert [ln["productType"] for ln in accepted.json()["lineItems"]] == [
        "OnlineServicesNCE",
        "AzureSubscription",
    ]
    world.control("POST", "/clock/advance", {"minutes": 1})
    done = world.api("central").get(f"{path}/{transfer['id']}").json()
    assert done["status"] == "Complete"
    license_line, azure_line = done["lineItems"]
    twins = world.api("central").get(
        f"/customers/{NORTHWIND}/subscriptions?order_id={license_line['orderId']}"
    )
    [twin] = twins.json()["items"]
    assert twin["offerId"].startswith("CFQ7TTC0LH18") and twin["quantity"] == 40
    landed = world.api("central").get(
        f"/customers/{NORTHWIND}/subscriptions?order_id={azure_line['orderId']}"
    )
    assert [s["id"] for s in landed.json()["items"]] == [plan]
