"""Reading transfer requests into live state: on the target only, only for the customers asked
for, normalised, and never "none" when the list could not be read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import responses
from pc_fakes import API

from reconciler import model
from reconciler.partner_center import client as pc_client
from reconciler.partner_center import reading, wire

Make = Callable[..., pc_client.PartnerCenterClient]
ORIGIN = model.Origin("manifests/consolidation.yaml", 1)
TARGET = model.Tenant("central", "t-central", "IE", model.Role.TARGET)
SOURCE = model.Tenant("de", "t-de", "DE", model.Role.SOURCE)
CONS = model.Consolidation("c", TARGET, (SOURCE,), model.Policy(), ORIGIN)


def _customer(cid: str) -> dict[str, object]:
    return {"id": cid, "companyProfile": {"tenantId": cid, "companyName": f"Co {cid}"}}


def _transfer(tid: str, status: str = "InProgress", **extra: object) -> dict[str, object]:
    return {
        "id": tid,
        "status": status,
        "sourcePartnerTenantId": "T-DE",
        "targetPartnerTenantId": "t-central",
        "createdTime": "2026-03-01T10:00:00.1234567Z",
        "lineItems": [],
        "attributes": {"objectType": "TransferEntity"},
        **extra,
    }


def _customers(mocked: responses.RequestsMock, *cids: str) -> None:
    for c in cids:
        mocked.get(f"{API}/v1/customers/{c}", json=_customer(c))
        mocked.get(f"{API}/v1/customers/{c}/subscriptions", json={"items": []})


def _calls(mocked: responses.RequestsMock, suffix: str) -> int:
    return sum(1 for c in mocked.calls if c.request.url.endswith(suffix))


def test_transfers_are_read_on_the_target_only_for_the_customers_named(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    _customers(mocked, "c1", "c2")
    mocked.get(f"{API}/v1/customers/c1/transfers", json={"items": [_transfer("TR-1")]})
    state = reading.read_live_state(
        CONS,
        {"central": make_client(), "de": make_client()},
        customers=["c1", "c2"],
        transfers=["C1"],
    )
    central = state.tenants["central"].customers
    assert central["c1"].transfers is not None
    [found] = central["c1"].transfers
    assert found.id == "tr-1" and found.status is model.TransferStatus.PENDING
    assert found.source_partner_id == "t-de"
    assert found.expires_at == datetime(2026, 3, 31, 10, 0, 0, 123456, tzinfo=UTC)
    # c2 was not asked for: not read, so not known (None), which is not "no transfers".
    assert central["c2"].transfers is None
    assert state.tenants["de"].customers["c1"].transfers is None
    assert _calls(mocked, "/c1/transfers") == 1  # target only, never the source
    assert _calls(mocked, "/c2/transfers") == 0


def test_by_default_every_target_customer_with_a_relationship_gets_its_transfers_read(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    _customers(mocked, "c1")
    mocked.get(f"{API}/v1/customers/c2", status=403, json={"code": 20002, "description": "no"})
    mocked.get(f"{API}/v1/customers/c1/transfers", json={"items": []})
    state = reading.read_live_state(
        CONS, {"central": make_client(), "de": make_client()}, customers={"central": ["c1", "c2"]}
    )
    central = state.tenants["central"].customers
    assert central["c1"].transfers == ()  # read, and there are none
    assert central["c2"].status is model.ReadStatus.NO_RELATIONSHIP
    assert _calls(mocked, "/c2/transfers") == 0


def test_an_unreadable_transfer_list_is_unknown_with_the_reason_never_empty(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    _customers(mocked, "c1")
    mocked.get(f"{API}/v1/customers/c1/transfers", status=503)
    cv = reading.read_tenant(TARGET, make_client(), customers=["c1"], transfers=["c1"]).customers[
        "c1"
    ]
    assert cv.status is model.ReadStatus.OK  # the subscriptions are still known
    assert cv.transfers is None and "503" in cv.transfers_reason


def test_a_malformed_transfer_makes_the_list_unknown(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    _customers(mocked, "c1")
    mocked.get(f"{API}/v1/customers/c1/transfers", json={"items": [{"id": "x"}]})
    cv = reading.read_tenant(TARGET, make_client(), customers=["c1"], transfers=None).customers[
        "c1"
    ]
    assert cv.transfers is None and "lacks status, sourcePartnerTenantId" in cv.transfers_reason


def test_listed_customers_get_their_transfers_too(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    names = [f"c{i:02d}" for i in range(reading.LIST_THRESHOLD + 1)]
    mocked.get(f"{API}/v1/customers", json={"items": [_customer(c) for c in names]})
    for c in names:
        mocked.get(f"{API}/v1/customers/{c}/subscriptions", json={"items": []})
    mocked.get(f"{API}/v1/customers/c03/transfers", json={"items": [_transfer("t")]})
    view = reading.read_tenant(TARGET, make_client(), customers=names, transfers=["c03"])
    assert [t.id for t in view.customers["c03"].transfers or ()] == ["t"]
    assert sum(1 for c in mocked.calls if c.request.url.endswith("/transfers")) == 1


@pytest.mark.parametrize(
    ("wire_status", "status"),
    [
        ("InProgress", model.TransferStatus.PENDING),
        ("Active", model.TransferStatus.PENDING),
        ("In progress", model.TransferStatus.PENDING),
        ("Complete", model.TransferStatus.COMPLETED),
        ("Completed", model.TransferStatus.COMPLETED),
        ("Canceled", model.TransferStatus.CANCELLED),
        ("Reject", model.TransferStatus.REJECTED),
        ("Rejected", model.TransferStatus.REJECTED),
        ("Expired", model.TransferStatus.EXPIRED),
        ("Failed", model.TransferStatus.FAILED),
        ("Frobnicated", model.TransferStatus.UNKNOWN),
    ],
)
def test_transfer_statuses_are_normalised(wire_status: str, status: model.TransferStatus) -> None:
    assert wire.to_live_transfer(_transfer("t", wire_status)).status is status


def test_completed_line_items_carry_source_and_target_ids_and_an_explicit_expiry_wins() -> None:
    t = wire.to_live_transfer(
        _transfer(
            "t",
            "Complete",
            expirationDate="2026-03-20T00:00:00Z",
            completedTime="2026-03-02T00:00:00Z",
            lineItems=[
                {"id": 0, "subscriptionId": "S-1", "targetSubscriptionId": "T-1", "status": "x"},
                {"id": 1, "subscriptionId": "s-2"},
            ],
        )
    )
    assert [(ln.source_subscription_id, ln.target_subscription_id) for ln in t.lines] == [
        ("s-1", "t-1"),
        ("s-2", None),
    ]
    assert t.expires_at == datetime(2026, 3, 20, tzinfo=UTC)
    assert t.names("S-1") and not t.names("s-3") and not t.may_carry("s-3")


def test_open_means_pending_or_unknown_before_expiry() -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    unknown = wire.to_live_transfer(_transfer("t", "Frobnicated"))
    assert unknown.is_open(now) and not unknown.is_open(datetime(2026, 4, 1, tzinfo=UTC))
    assert wire.to_live_transfer(_transfer("t")).is_open(now)
    for ended in ("Expired", "Canceled", "Reject", "Failed", "Complete"):
        assert not wire.to_live_transfer(_transfer("t", ended)).is_open(now)
    # Not accepted yet: the request may carry any subscription of the source partner.
    assert wire.to_live_transfer(_transfer("t")).may_carry("anything")


def test_a_rejected_request_has_ended_so_a_new_one_may_be_made() -> None:
    assert model.TransferStatus.parse("Reject").ended
    assert not model.TransferStatus.parse("InProgress").ended


def test_a_bare_array_transfer_list_is_read_like_an_envelope(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    _customers(mocked, "c1")
    mocked.get(f"{API}/v1/customers/c1/transfers", json=[_transfer("TR-1"), _transfer("TR-2")])
    cv = reading.read_tenant(TARGET, make_client(), customers=["c1"], transfers=["c1"]).customers[
        "c1"
    ]
    assert [t.id for t in cv.transfers or ()] == ["tr-1", "tr-2"]


def test_a_list_that_is_neither_array_nor_envelope_is_unknown(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    _customers(mocked, "c1")
    mocked.get(f"{API}/v1/customers/c1/transfers", json={"value": []})
    cv = reading.read_tenant(TARGET, make_client(), customers=["c1"], transfers=["c1"]).customers[
        "c1"
    ]
    assert cv.transfers is None and "collection" in cv.transfers_reason


def _sub(sid: str, offer: str, quantity: int, order: str) -> dict[str, object]:
    return {
        "id": sid,
        "offerId": offer,
        "quantity": quantity,
        "status": "active",
        "billingCycle": "monthly",
        "orderId": order,
        "autoRenewEnabled": True,
    }


def _completed(*lines: dict[str, object]) -> dict[str, object]:
    return _transfer("TR-9", "Complete", lineItems=list(lines))


BP, EXO = "CFQ7TTC0LCHC:0002:CFQ7TTC0HB8Z", "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G"


def test_completed_lines_find_their_target_through_the_order_already_read(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.get(f"{API}/v1/customers/c1", json=_customer("c1"))
    mocked.get(
        f"{API}/v1/customers/c1/subscriptions",
        json={"items": [_sub("T-BP", BP, 18, "O-1"), _sub("T-EXO", EXO, 5, "O-1")]},
    )
    mocked.get(
        f"{API}/v1/customers/c1/transfers",
        json=[
            _completed(
                {
                    "id": 0,
                    "subscriptionId": "S-BP",
                    "offerId": BP,
                    "quantity": 18,
                    "orderId": "O-1",
                },
                {
                    "id": 1,
                    "subscriptionId": "S-EXO",
                    "offerId": EXO,
                    "quantity": 5,
                    "orderId": "o-1",
                },
            )
        ],
    )
    cv = reading.read_tenant(TARGET, make_client(), customers=["c1"], transfers=["c1"]).customers[
        "c1"
    ]
    [t] = cv.transfers or ()
    assert [(ln.source_subscription_id, ln.target_subscription_id) for ln in t.lines] == [
        ("s-bp", "t-bp"),
        ("s-exo", "t-exo"),
    ]
    assert not any("order_id" in (c.request.url or "") for c in mocked.calls), "no extra request"


def test_an_order_not_among_the_subscriptions_read_costs_one_request_per_order(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.get(f"{API}/v1/customers/c1", json=_customer("c1"))
    mocked.get(
        f"{API}/v1/customers/c1/subscriptions",
        match=[responses.matchers.query_string_matcher("")],
        json={"items": []},
    )
    mocked.get(
        f"{API}/v1/customers/c1/subscriptions",
        match=[responses.matchers.query_string_matcher("order_id=O-7")],
        json={"items": [_sub("T-1", BP, 18, "O-7")]},
    )
    line = {"id": 0, "subscriptionId": "S-1", "offerId": BP, "quantity": 18, "orderId": "O-7"}
    pending = _transfer("TR-1", lineItems=[{**line, "orderId": None}])
    mocked.get(f"{API}/v1/customers/c1/transfers", json=[_completed(line), pending])
    cv = reading.read_tenant(TARGET, make_client(), customers=["c1"], transfers=["c1"]).customers[
        "c1"
    ]
    done = next(t for t in cv.transfers or () if t.id == "tr-9")
    assert done.lines[0].target_subscription_id == "t-1"
    assert sum(1 for c in mocked.calls if "order_id=" in (c.request.url or "")) == 1


def test_an_unreadable_order_look_up_makes_the_transfers_unknown(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    _customers(mocked, "c1")
    mocked.get(
        f"{API}/v1/customers/c1/subscriptions",
        match=[responses.matchers.query_string_matcher("order_id=O-7")],
        status=503,
    )
    line = {"id": 0, "subscriptionId": "S-1", "orderId": "O-7"}
    mocked.get(f"{API}/v1/customers/c1/transfers", json=[_completed(line)])
    cv = reading.read_tenant(TARGET, make_client(), customers=["c1"], transfers=["c1"]).customers[
        "c1"
    ]
    assert cv.status is model.ReadStatus.OK and cv.transfers is None and cv.transfers_reason


def _live(sid: str, offer: str, quantity: int) -> model.LiveSubscription:
    return wire.to_live_subscription(_sub(sid, offer, quantity, "O"))


def test_pick_target_never_guesses_between_look_alikes() -> None:
    line = model.LiveTransferLine("s-1", offer_id=BP, quantity=18, order_id="O")
    one = [_live("a", BP, 18)]
    assert reading.pick_target(line, one) == "a"
    two = [_live("a", BP, 18), _live("b", EXO, 18)]
    assert reading.pick_target(line, two) == "a"
    twins = [_live("a", BP, 18), _live("b", BP, 18)]
    assert reading.pick_target(line, twins) is None
    assert reading.pick_target(line, twins, claimed={"a"}) == "b"
    assert reading.pick_target(line, []) is None
