"""Client writes against the emulator: full-resource PATCH (also 202 + polling), orders and
carts, idempotent retries with the same MS-RequestId, and unknown outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from pc_world import PARTNERS, build, customer_id, make_world, subscription_id

from reconciler.emulator.server import Emulator
from reconciler.partner_center import errors as api_errors

Start = Callable[..., Emulator]
TARGET_CUSTOMER = customer_id(0)  # related to de and central
NCE = "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
LEGACY = "796B6B5F-613C-4E24-A17C-EBA730D49C02"


@pytest.mark.parametrize("patch_async", [False, True])
def test_suspend_keeps_every_other_field(
    start_emulator: Start, base_env: dict[str, str], patch_async: bool
) -> None:
    emu = start_emulator(make_world(2), patch_async=patch_async)
    de = build(emu, base_env, tenants=["de"])["de"]
    de.poll_interval = 0.05
    sid = subscription_id(0, 1)  # the NCE one, auto-renew on
    before = de.get_subscription(TARGET_CUSTOMER, sid)
    assert before["autoRenewEnabled"] is True
    after = de.update_subscription(
        TARGET_CUSTOMER, sid, {"friendlyName": "moved"}, request_id=str(uuid.uuid4())
    )
    assert after["friendlyName"] == "moved"
    # GET, PATCH, then (202 only) at least one poll of the Location.
    assert de.stats.requests >= (4 if patch_async else 3)
    again = de.get_subscription(TARGET_CUSTOMER, sid)
    assert again["autoRenewEnabled"] is True and again["quantity"] == before["quantity"]


def test_order_whose_response_is_lost_is_not_duplicated(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(1))
    emu.control.set_fault(
        {
            "kind": "drop_after_commit",
            "method": "POST",
            "path": "/v1/customers/*/orders",
            "count": 1,
        }
    )
    central = build(emu, base_env, tenants=["central"])["central"]
    order = central.create_order(
        TARGET_CUSTOMER,
        {
            "billingCycle": "monthly",
            "lineItems": [
                {
                    "lineItemNumber": 0,
                    "offerId": NCE,
                    "quantity": 4,
                    "friendlyName": "x",
                    "termDuration": "P1Y",
                }
            ],
        },
        request_id=str(uuid.uuid4()),
    )
    assert order["id"]
    emu.control.advance_clock(minutes=15)  # a new order can take that long to be listed
    assert [o["id"] for o in central.list_orders(TARGET_CUSTOMER)] == [order["id"]]
    assert central.stats.retries == 1
    assert central.get_order(TARGET_CUSTOMER, order["id"])["id"] == order["id"]


def test_a_legacy_order_is_a_commercial_refusal_not_a_rights_problem(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(1))
    central = build(emu, base_env, tenants=["central"])["central"]
    body = {"lineItems": [{"lineItemNumber": 0, "offerId": LEGACY, "quantity": 4}]}
    with pytest.raises(api_errors.ApiBusinessError) as refused:
        central.create_order(TARGET_CUSTOMER, body, request_id=str(uuid.uuid4()))
    assert not isinstance(refused.value, api_errors.ApiForbidden)
    assert refused.value.code == 2091 and "no longer available" in str(refused.value)
    assert "role" not in str(refused.value)
    assert central.list_orders(TARGET_CUSTOMER) == []


def test_cart_checkout_creates_the_subscription(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(1))
    central = build(emu, base_env, tenants=["central"])["central"]
    cart = central.create_cart(
        TARGET_CUSTOMER,
        [
            {
                "catalogItemId": NCE,
                "quantity": 7,
                "billingCycle": "monthly",
                "termDuration": "P1Y",
                "friendlyName": "moved from de",
            }
        ],
        request_id=str(uuid.uuid4()),
    )
    result = central.checkout_cart(TARGET_CUSTOMER, cart["id"], request_id=str(uuid.uuid4()))
    assert result["orderErrors"] == []
    order_id = result["orders"][0]["id"]
    subs = central.list_subscriptions(TARGET_CUSTOMER, order_id=order_id)
    assert [(s["offerId"].upper(), s["quantity"]) for s in subs] == [(NCE, 7)]


def test_checkout_whose_outcome_stays_unknown_says_so(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(1))
    central = build(emu, base_env, tenants=["central"])["central"]
    cart = central.create_cart(
        TARGET_CUSTOMER,
        [{"catalogItemId": NCE, "quantity": 2, "billingCycle": "monthly", "termDuration": "P1Y"}],
        request_id=str(uuid.uuid4()),
    )
    emu.control.set_fault(
        {"kind": "timeout_after_commit", "method": "POST", "path": "/v1/customers/*/checkout"}
    )
    with pytest.raises(api_errors.UnknownOutcome) as info:
        central.checkout_cart(TARGET_CUSTOMER, cart["id"], request_id="checkout-1")
    assert info.value.request_id == "checkout-1"
    emu.control.set_fault()
    # The caller resolves it by looking: the cart was in fact checked out, once.
    assert central.get_cart(TARGET_CUSTOMER, cart["id"])["status"].lower() == "ordered"
    nce = [s for s in central.list_subscriptions(TARGET_CUSTOMER) if s["offerId"].upper() == NCE]
    assert len(nce) == 1


def test_transfer_create_read_and_cancel(start_emulator: Start, base_env: dict[str, str]) -> None:
    emu = start_emulator(make_world(1))
    central = build(emu, base_env, tenants=["central"])["central"]
    created = central.create_transfer(
        TARGET_CUSTOMER,
        {
            "sourcePartnerTenantId": PARTNERS["de"],
            "sourcePartnerName": "DE",
            "customerEmailId": "billing@c0.example",
            "customerName": "C0",
        },
        request_id=str(uuid.uuid4()),
    )
    assert created["id"]
    read = central.get_transfer(TARGET_CUSTOMER, created["id"])
    assert read["id"] == created["id"]
    cancelled = central.cancel_transfer(
        TARGET_CUSTOMER, created["id"], request_id=str(uuid.uuid4())
    )
    assert cancelled["status"].lower().startswith("cancel")
