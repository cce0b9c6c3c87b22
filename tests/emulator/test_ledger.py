"""The billing ledger and write history: legacy suspension stops billing, new-commerce
suspension does not; the Azure hand-off leaves no day unbilled or billed twice."""

from __future__ import annotations

from typing import Any

from conftest import FABRIKAM, NORTHWIND, TAILSPIN, WOODGROVE, World, new_id, sub_id


def _suspend(world: World, customer: str, sid: str, request_id: str = "") -> Any:
    api = world.api("de" if customer in (FABRIKAM, NORTHWIND, WOODGROVE) else "fr")
    path = f"/customers/{customer}/subscriptions/{sid}"
    body = api.get(path).json()
    body["status"] = "suspended"
    headers = {"MS_RequestId": request_id} if request_id else {}
    return api.patch(path, body, **headers)


def _days(world: World, sid: str) -> list[tuple[str, str, bool, bool]]:
    rows = world.control("GET", "/ledger", subscriptionId=sid)["rows"]
    return [(r["date"], r["status"], r["billed"], r["inService"]) for r in rows]


def test_a_legacy_suspension_stops_billing_from_that_day(world: World) -> None:
    world.control("POST", "/clock/advance", {"days": 2})
    assert _suspend(world, FABRIKAM, sub_id("d001")).status_code == 200
    world.control("POST", "/clock/advance", {"days": 2})
    days = _days(world, sub_id("d001"))
    assert [d[2] for d in days] == [True, True, False, False, False]
    assert [d[1] for d in days] == ["active", "active", "suspended", "suspended", "suspended"]
    assert not any(d[3] for d in days[2:])


def test_a_new_commerce_suspension_keeps_billing_without_service(world: World) -> None:
    world.control("POST", "/clock/advance", {"days": 1})
    assert _suspend(world, WOODGROVE, sub_id("d004")).status_code == 200
    world.control("POST", "/clock/advance", {"days": 3})
    days = _days(world, sub_id("d004"))
    assert len(days) == 5 and all(d[2] for d in days)
    assert [d[3] for d in days] == [True, False, False, False, False]


def test_rows_name_partner_customer_offer_and_quantity(world: World) -> None:
    row = _days_full(world, sub_id("d003"))[0]
    assert row["partner"] == "de" and row["customerId"] == NORTHWIND
    assert row["offerId"] == "CFQ7TTC0LH18:0001:CFQ7TTC0K971" and row["quantity"] == 40


def _days_full(world: World, sid: str) -> list[dict[str, Any]]:
    return list(world.control("GET", "/ledger", subscriptionId=sid)["rows"])


def test_azure_handoff_moves_billing_without_gap_or_overlap(world: World) -> None:
    world.accept(TAILSPIN)
    moved = world.control(
        "POST", "/azure-handoff", {"customerId": TAILSPIN, "source": "fr", "target": "central"}
    )["moved"]
    assert list(moved) == [sub_id("f0a1")]
    source = world.api("fr").get(f"/customers/{TAILSPIN}/subscriptions/{sub_id('f0a1')}")
    assert source.json()["status"] == "suspended"
    target = world.api("central").get(f"/customers/{TAILSPIN}/subscriptions").json()["items"]
    assert [(s["offerId"], s["status"]) for s in target] == [("MS-AZR-0145P", "active")]
    assert target[0]["entitlementId"] == source.json()["entitlementId"]
    world.control("POST", "/clock/advance", {"days": 2})
    rows = world.emu.control.ledger(customer_id=TAILSPIN)
    azure = [r for r in rows if r["offerId"] == "MS-AZR-0145P" and r["billed"]]
    assert sorted(r["date"] for r in azure) == sorted({r["date"] for r in azure})
    assert len(azure) == 3 and {r["partner"] for r in azure} == {"central"}


def test_handoff_needs_the_targets_relationship(world: World) -> None:
    reply = world.session.post(
        f"{world.conn['controlRoot']}/azure-handoff",
        json={"customerId": TAILSPIN, "source": "fr", "target": "central"},
    )
    assert reply.status_code == 400 and "invitation" in reply.json()["error"]


def test_history_records_every_write_with_its_request_id(world: World) -> None:
    rid = new_id()
    _suspend(world, FABRIKAM, sub_id("d001"), request_id=rid)
    events = world.control("GET", "/history")["events"]
    update = [e for e in events if e["action"] == "subscription.update"]
    assert update[-1]["requestId"] == rid and update[-1]["subscriptionId"] == sub_id("d001")
    assert update[-1]["changes"]["status"] == ["active", "suspended"]
    assert update[-1]["partnerTenantId"].endswith("de") and update[-1]["time"]
    later = world.control("GET", "/history", after=str(events[-1]["seq"]))["events"]
    assert later == []


def test_terms_end_by_renewing_or_expiring(world: World) -> None:
    api = world.api("de")
    path = f"/customers/{NORTHWIND}/subscriptions/{sub_id('d003')}"
    body = api.get(path).json()
    body["autoRenewEnabled"] = False
    assert api.patch(path, body).json()["autoRenewEnabled"] is False
    end = body["commitmentEndDate"][:10]
    order = api.post(
        f"/customers/{NORTHWIND}/orders",
        {
            "lineItems": [
                {
                    "lineItemNumber": 0,
                    "offerId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
                    "quantity": 2,
                    "termDuration": "P1M",
                }
            ]
        },
    ).json()
    monthly = api.get(f"/customers/{NORTHWIND}/subscriptions?order_id={order['id']}").json()[
        "items"
    ][0]
    world.control("POST", "/clock/advance", {"days": 31})
    renewed = api.get(f"/customers/{NORTHWIND}/subscriptions/{monthly['id']}").json()
    assert renewed["status"] == "active"
    assert renewed["commitmentEndDate"] > monthly["commitmentEndDate"]
    assert renewed["cancellationAllowedUntilDate"] is not None  # a renewal opens a window
    world.control("POST", "/clock/advance", {"days": 170})
    assert api.get(path).json()["status"] == "expired"
    rows = world.emu.control.ledger(subscription_id=sub_id("d003"))
    assert rows[-1]["date"] == end and all(r["billed"] for r in rows)
    events = [e["action"] for e in world.control("GET", "/history")["events"]]
    assert "subscription.renewed" in events and "subscription.expired" in events
