"""Invariants under random sequences of writes and clock moves (hypothesis), checked against
small models of the documented rules."""

from __future__ import annotations

from typing import Any

from conftest import FABRIKAM, NORTHWIND, WOODGROVE, World, sub_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASIC = "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
_SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(min_value=0, max_value=5)),
        st.tuples(st.just("set"), st.integers(min_value=1, max_value=40)),
    ),
    min_size=1,
    max_size=8,
)


def _set(world: World, path: str, **changes: Any) -> Any:
    api = world.api("de")
    body = api.get(path).json()
    body.update(changes)
    return api.patch(path, body)


@_SETTINGS
@given(initial=st.integers(min_value=1, max_value=30), plan=steps)
def test_seats_can_only_be_reduced_within_seven_days_of_being_added(
    world: World, initial: int, plan: list[tuple[str, int]]
) -> None:
    world.emu.control.reset()
    api = world.api("de")
    order = api.post(
        f"/customers/{NORTHWIND}/orders",
        {
            "lineItems": [
                {"lineItemNumber": 0, "offerId": BASIC, "quantity": initial, "termDuration": "P1Y"}
            ]
        },
    )
    sid = api.get(f"/customers/{NORTHWIND}/subscriptions?order_id={order.json()['id']}").json()[
        "items"
    ][0]["id"]
    path = f"/customers/{NORTHWIND}/subscriptions/{sid}"
    day, batches, quantity = 0, [[initial, 0]], initial  # model: [seats, day added]
    for action, value in plan:
        if action == "advance":
            world.emu.control.advance_clock(days=value)
            day += value
            continue
        reply = _set(world, path, quantity=value)
        refundable = sum(b[0] for b in batches if day - b[1] < 7)
        if value >= quantity or quantity - value <= refundable:
            assert reply.status_code == 200, (reply.text, batches, day)
            if value > quantity:
                batches.append([value - quantity, day])
            else:
                remaining = quantity - value
                for batch in reversed(batches):
                    take = min(batch[0], remaining) if day - batch[1] < 7 else 0
                    batch[0] -= take
                    remaining -= take
            quantity = value
        else:
            assert reply.status_code == 400 and reply.json()["code"] == 800090
        shown = api.get(path).json()
        assert shown["quantity"] == quantity
        assert shown["refundableQuantity"]["totalQuantity"] == sum(
            b[0] for b in batches if day - b[1] < 7
        )


@_SETTINGS
@given(
    plan=st.lists(
        st.tuples(st.sampled_from(["suspended", "active"]), st.integers(min_value=0, max_value=3)),
        min_size=1,
        max_size=6,
    )
)
def test_suspension_billing_legacy_stops_nce_continues(
    world: World, plan: list[tuple[str, int]]
) -> None:
    world.emu.control.reset()
    legacy = f"/customers/{FABRIKAM}/subscriptions/{sub_id('d001')}"  # term ends in ~65 days
    nce = f"/customers/{WOODGROVE}/subscriptions/{sub_id('d004')}"
    end_of_day = ["active"]  # model: legacy status at the end of each day since the load
    for status, days in plan:
        assert _set(world, legacy, status=status).status_code == 200
        assert _set(world, nce, status=status).status_code == 200
        end_of_day[-1] = status
        if days:
            world.emu.control.advance_clock(days=days)
            end_of_day += [status] * days
    legacy_rows = world.emu.control.ledger(subscription_id=sub_id("d001"))
    nce_rows = world.emu.control.ledger(subscription_id=sub_id("d004"))
    assert [r["billed"] for r in legacy_rows] == [s == "active" for s in end_of_day]
    assert [r["billed"] for r in nce_rows] == [True] * len(end_of_day)
    assert [r["inService"] for r in nce_rows] == [s == "active" for s in end_of_day]
