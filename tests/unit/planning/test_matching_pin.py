"""The strongest matching rule: a manifest entry that names its target subscription id."""

from __future__ import annotations

import dataclasses

import demo_world

from reconciler.planning import markers, matching

OFFER = "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G"


def _wanted(pin: str | None):
    state = demo_world.desired()
    adatum = state.customer("3f2c6d55-0000-4000-8000-00000000c003")
    assert adatum is not None
    exchange = adatum.subscriptions[0]
    return dataclasses.replace(exchange, target_subscription_id=pin)


def test_pin_wins_over_a_marker_and_an_offer_match() -> None:
    pinned = demo_world.sub("aaaaaaaa-0000-4000-8000-000000000001", OFFER, 60, friendly="Renamed")
    marked = demo_world.sub(
        "aaaaaaaa-0000-4000-8000-000000000002",
        OFFER,
        60,
        friendly=markers.with_marker("x", "exchange"),
    )
    found, problems, claimed = matching.match_licenses([_wanted(pinned.id)], [marked, pinned])
    assert problems == []
    assert found["exchange"].live == pinned
    assert found["exchange"].rule == "pin"
    assert claimed == {pinned.id}


def test_a_pinned_id_that_does_not_exist_is_a_problem_not_a_create() -> None:
    other = demo_world.sub("aaaaaaaa-0000-4000-8000-000000000003", OFFER, 60)
    missing = "aaaaaaaa-0000-4000-8000-0000000000ff"
    found, problems, _ = matching.match_licenses([_wanted(missing)], [other])
    assert "exchange" not in found
    assert [p.key for p in problems] == ["exchange"]
    assert missing in problems[0].message


def test_two_entries_pinning_one_subscription_name_the_other_entry() -> None:
    pinned = demo_world.sub("aaaaaaaa-0000-4000-8000-000000000004", OFFER, 60)
    first = _wanted(pinned.id)
    second = dataclasses.replace(first, key="exchange-2")
    found, problems, _ = matching.match_licenses([first, second], [pinned])
    assert found["exchange"].live == pinned
    assert [p.key for p in problems] == ["exchange-2"]
    assert "already pinned by exchange" in problems[0].message
