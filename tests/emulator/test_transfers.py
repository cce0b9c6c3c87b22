"""Partner-to-partner transfers: create by the target, accept by the source, cancel by the
target, expiry after 30 days; billing moves without overlap or gap."""

from __future__ import annotations

from typing import Any

from conftest import CENTRAL, DE, FABRIKAM, WOODGROVE, World, sub_id

PREMIUM = sub_id("d004")


def _create(world: World, customer: str = WOODGROVE, **extra: Any) -> Any:
    world.accept(customer)
    body = {"sourcePartnerTenantId": DE, "customerName": "Woodgrove", "transferType": 5, **extra}
    return world.api("central").post(f"/customers/{customer}/transfers", body)


def test_target_creates_and_both_sides_see_the_request(world: World) -> None:
    reply = _create(world)
    assert reply.status_code == 201
    transfer = reply.json()
    assert transfer["status"] == "InProgress" and transfer["sourcePartnerTenantId"] == DE
    assert transfer["targetPartnerTenantId"] == CENTRAL
    assert transfer["attributes"]["objectType"] == "TransferEntity"
    listed = world.api("de").get(f"/customers/{WOODGROVE}/transfers").json()["items"]
    assert [t["id"] for t in listed] == [transfer["id"]]
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
    assert target[0]["id"] == done["lineItems"][0]["targetSubscriptionId"]
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
