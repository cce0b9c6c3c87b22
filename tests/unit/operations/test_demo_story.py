"""The demo's story is read from the emulator's records: what they say is what it tells,
including what went wrong (a late suspension, a transfer accepted by the wrong partner, a
target never found by its order id)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler import manifests
from reconciler.operations import demo

ROOT = Path(__file__).resolve().parents[3]
CENTRAL, DE = "0f6a1b8e-0000-4000-8000-000000000001", "0f6a1b8e-0000-4000-8000-0000000000de"
FABRIKAM, NORTHWIND = "3f2c6d55-0000-4000-8000-00000000c001", "3f2c6d55-0000-4000-8000-00000000c002"
D002, D003 = "5b1e0a40-0000-4000-8000-00000000d002", "5b1e0a40-0000-4000-8000-00000000d003"
VISIO = "CFQ7TTC0HD32:0002:CFQ7TTC0J1FV"


def _sub(sid: str, partner: str, customer: str, name: str, status: str, **kw: Any) -> dict:
    return {
        "id": sid,
        "partner": partner,
        "customerId": customer,
        "friendlyName": name,
        "status": status,
        "quantity": kw.get("quantity", 3),
        "kind": kw.get("kind", "nce"),
        "orderId": kw.get("order_id"),
    }


def _event(seq: int, time: str, action: str, sid: str = "", **kw: Any) -> dict:
    return {
        "seq": seq,
        "time": time,
        "action": action,
        "origin": kw.get("origin", "api"),
        "partnerTenantId": kw.get("partner", CENTRAL),
        "customerId": kw.get("customer", FABRIKAM),
        "subscriptionId": sid,
        "changes": kw.get("changes", {}),
    }


def _records(*, suspended_on: str, accepted_by: str, landed: bool) -> tuple[list, dict, list]:
    visio_new = _sub("t-visio", "central", FABRIKAM, "Visio Plan 2 [rc:visio]", "active")
    twin = _sub(
        "t-basic", "central", NORTHWIND, "Business Basic", "active", quantity=40, order_id="o-x"
    )
    snapshot = {
        "partners": [{"name": "central", "tenantId": CENTRAL}, {"name": "de", "tenantId": DE}],
        "customers": [
            {"tenantId": FABRIKAM, "companyName": "Fabrikam GmbH"},
            {"tenantId": NORTHWIND, "companyName": "Northwind Traders AG"},
        ],
        "subscriptions": [
            _sub(D002, "de", FABRIKAM, "Visio Online Plan 2", "suspended", kind="legacy"),
            visio_new,
            _sub(D003, "de", NORTHWIND, "Business Basic", "deleted", quantity=40),
            *([twin] if landed else []),
        ],
        "orders": [
            {
                "id": "o-1",
                "partner": "central",
                "customerId": FABRIKAM,
                "lineItems": [
                    {
                        "offerId": VISIO,
                        "quantity": 3,
                        "subscriptionId": "t-visio",
                        "friendlyName": "Visio Plan 2 [rc:visio]",
                    }
                ],
            }
        ],
        "transfers": [
            {
                "id": "x-1",
                "customerTenantId": NORTHWIND,
                "sourcePartnerTenantId": DE,
                "status": "Complete",
                "lineItems": [
                    {
                        "subscriptionId": D003,
                        "quantity": 40,
                        "friendlyName": "Business Basic",
                        "orderId": "o-x",
                    }
                ],
            }
        ],
    }
    history = [
        _event(1, "2026-03-02T09:00:00Z", "order.create", changes={"orderId": [None, "o-1"],
                                                                    "cartId": [None, "c-1"]}),
        _event(2, "2026-03-02T09:00:05Z", "subscription.provisioned", "t-visio",
               origin="provisioning", changes={"status": ["pending", "active"]}),
        _event(3, suspended_on, "subscription.update", D002, partner=DE,
               changes={"status": ["active", "suspended"]}),
        _event(4, "2026-03-02T09:01:00Z", "transfer.create", customer=NORTHWIND,
               changes={"transferId": [None, "x-1"]}),
        _event(5, "2026-03-02T09:02:00Z", "transfer.complete", customer=NORTHWIND,
               partner=DE if accepted_by == "de" else CENTRAL,
               changes={"transferId": ["x-1", "x-1"]}),
        _event(6, "2026-03-02T09:02:05Z", "transfer.target_created", "t-basic",
               customer=NORTHWIND, origin="transfer",
               changes={"status": [None, "active"], "transferredFrom": [None, D003]}),
    ]  # fmt: skip
    days = ["2026-03-02", "2026-03-03"]
    billed = {
        D002: [d for d in days if d < suspended_on[:10]],
        "t-visio": days,
        "t-basic": days,
        D003: [],
    }
    ledger = [
        {"date": d, "subscriptionId": sid, "billed": d in on, "inService": True}
        for sid, on in billed.items()
        for d in days
    ]
    return history, snapshot, ledger


def _story(**kw: Any) -> demo.Story:
    state = manifests.load([ROOT / "manifests"])
    return demo.story(*_records(**kw), state)


def test_a_run_that_went_right_is_told_with_its_figures() -> None:
    told = _story(suspended_on="2026-03-02T09:00:09Z", accepted_by="de", landed=True)
    (transfer,) = told.transfers
    assert (transfer.customer, transfer.source, transfer.requested_by, transfer.accepted_by) == (
        "Northwind Traders AG",
        "de",
        "central",
        "de",
    )
    assert transfer.lines == (demo.Moved("Business Basic", 40, "o-x", ("active", 40)),)
    assert transfer.lines[0].verified
    (visio,) = told.purchases
    assert (visio.customer, visio.name, visio.seats, visio.catalog_item) == (
        "Fabrikam GmbH",
        "Visio Plan 2",
        3,
        VISIO,
    )
    assert visio.via_cart and visio.active
    assert visio.replaces == (
        demo.Replaced("de", "Visio Online Plan 2", "legacy", "suspended the same day"),
    )
    # Fabrikam's visio pair and Northwind's transfer: the other manifest pairs have no target.
    assert told.ledger == demo.LedgerCheck(
        (demo.PairLedger(D002, "t-visio", 0, 0), demo.PairLedger(D003, "t-basic", 0, 0))
    )
    assert told.ledger.pairs == 2
    assert told.ledger.double_billed_days == told.ledger.unserved_days == 0


def test_a_run_that_went_wrong_is_told_as_it_went() -> None:
    told = _story(suspended_on="2026-03-03T10:00:00Z", accepted_by="central", landed=False)
    (transfer,) = told.transfers
    assert transfer.accepted_by == "central"
    assert transfer.lines[0].landed is None and not transfer.lines[0].verified
    assert told.purchases[0].replaces[0].fate == "suspended 1 day(s) later"
    # The legacy source billed on the day its successor was already billing: that pair only.
    assert told.ledger.double_billed_days == 1
    assert told.ledger.per_pair == (
        demo.PairLedger(D002, "t-visio", 1, 0),
        demo.PairLedger(D003, "t-basic", 0, 0),
    )


def test_an_azure_plan_line_is_verified_by_the_plan_it_landed_in_not_by_seats() -> None:
    landed = demo.Moved("Azure plan", 1, "o-az", ("active", 1), usage=True)
    assert landed.verified
    assert demo.Moved("Azure plan", 1, "o-az", ("active", 7), usage=True).verified
    assert not demo.Moved("Azure plan", 1, "o-az", ("suspended", 1), usage=True).verified
    assert not demo.Moved("Azure plan", 1, "o-az", None, usage=True).verified
    assert not demo.Moved("Office 365 E3", 25, "o-1", ("active", 20)).verified
