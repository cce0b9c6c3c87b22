"""A saved plan keeps the live snapshot it was planned from, and a stale plan's refusal names
per customer exactly which fields moved (deepdiff over the snapshots)."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from demo_world import NOW, C, S, accepted, desired, live_state, source_views, sub, view

from reconciler import errors, model
from reconciler.planning import fingerprint, planfile, planner, staleness

FABRIKAM = C + "c001"
TENANTS = ("de", "central")


@pytest.fixture(scope="module")
def state() -> model.DesiredState:
    return desired()


def _with_source_sub(live_sources, customer: str, sid: str, **changes: object):
    """``source_views()`` with one subscription of ``customer`` in de replaced."""
    de = dict(live_sources["de"])
    v = de[customer]
    subs = tuple(
        dataclasses.replace(s, **changes) if s.id == sid.lower() else s for s in v.subscriptions
    )
    de[customer] = dataclasses.replace(v, subscriptions=subs)
    return {**live_sources, "de": de}


def test_the_example_sentence(state: model.DesiredState) -> None:
    before = staleness.customer_snapshot(FABRIKAM, TENANTS, live_state(state))
    moved_sources = _with_source_sub(
        source_views(), FABRIKAM, S + "d001", quantity=30, status=model.SubscriptionStatus.SUSPENDED
    )
    after = staleness.customer_snapshot(FABRIKAM, TENANTS, live_state(state, sources=moved_sources))
    assert staleness.describe_moves(before, after) == [
        "subscription …d001 quantity 25 → 30; status active → suspended"
    ]


def test_appearing_and_vanishing_subscriptions_and_an_accepted_invitation(
    state: model.DesiredState,
) -> None:
    before = staleness.customer_snapshot(FABRIKAM, TENANTS, live_state(state))
    sources = source_views()
    de = dict(sources["de"])
    v = de[FABRIKAM]
    extra = sub(S + "d0ff", "CFQ7TTC0LH18:0001:CFQ7TTC0K971", 7)
    de[FABRIKAM] = dataclasses.replace(v, subscriptions=(*v.subscriptions[1:], extra))
    after_live = accepted(state, sources={**sources, "de": de})
    after = staleness.customer_snapshot(FABRIKAM, TENANTS, after_live)
    assert staleness.describe_moves(before, after) == [
        "in central: not a customer → a customer",
        "subscription …d001 is gone (was active)",
        "subscription …d0ff appeared (7 × CFQ7TTC0LH18:0001:CFQ7TTC0K971, active)",
    ]


def test_nothing_moved_says_nothing(state: model.DesiredState) -> None:
    snap = staleness.customer_snapshot(FABRIKAM, TENANTS, live_state(state))
    assert staleness.describe_moves(snap, json.loads(json.dumps(snap))) == []


FIELD_CHANGES = {
    "offer_id": "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
    "friendly_name": "renamed by hand",
    "quantity": 26,
    "status": model.SubscriptionStatus.SUSPENDED,
    "auto_renew": False,
    "commitment_end_date": NOW + timedelta(days=300),
    "cancellation_allowed_until": NOW + timedelta(days=3),
    "refundable": (model.RefundableBatch(2, NOW + timedelta(days=3)),),
    "entitlement_id": "a2c1a001-0000-4000-8000-00000000ffff",
}


@pytest.mark.parametrize("field", sorted(FIELD_CHANGES))
def test_every_fingerprinted_field_is_named_when_it_moves(
    state: model.DesiredState, field: str
) -> None:
    """The fingerprint decides *whether* a customer moved, the snapshot says *what*: they must
    cover the same fields, or a refusal would say "moved" without saying what."""
    old_live = live_state(state)
    new_live = live_state(
        state,
        sources=_with_source_sub(
            source_views(), FABRIKAM, S + "d001", **{field: FIELD_CHANGES[field]}
        ),
    )
    assert fingerprint.customer_fingerprint(
        FABRIKAM, TENANTS, old_live
    ) != fingerprint.customer_fingerprint(FABRIKAM, TENANTS, new_live)
    moves = staleness.describe_moves(
        staleness.customer_snapshot(FABRIKAM, TENANTS, old_live),
        staleness.customer_snapshot(FABRIKAM, TENANTS, new_live),
    )
    assert len(moves) == 1 and moves[0].startswith("subscription …d001 ")
    assert "→" in moves[0] and "changed" not in moves[0]


def test_a_transfer_moving_is_named(state: model.DesiredState) -> None:
    t = model.LiveTransfer(
        id="7e57aaaa-0000-4000-8000-00000000beef",
        status=model.TransferStatus.PENDING,
        source_partner_id="de-partner",
        target_partner_id="central-partner",
        created_at=NOW,
        expires_at=NOW + timedelta(days=30),
        lines=(),
    )
    target = {FABRIKAM: view(FABRIKAM, transfers=(t,))}
    done = dataclasses.replace(t, status=model.TransferStatus.COMPLETED)
    before = staleness.customer_snapshot(FABRIKAM, TENANTS, live_state(state, target=target))
    after_target = {FABRIKAM: view(FABRIKAM, transfers=(done,))}
    after = staleness.customer_snapshot(FABRIKAM, TENANTS, live_state(state, target=after_target))
    assert staleness.describe_moves(before, after) == ["transfer …beef status pending → completed"]


def test_a_saved_plan_keeps_the_snapshot_and_its_refusal_names_the_moved_fields(
    state: model.DesiredState,
) -> None:
    plan = planner.build_plan(state, live_state(state), now=NOW)
    saved = planfile.from_dict(json.loads(json.dumps(planfile.to_dict(plan))))
    entry = next(c for c in saved.customers if c.tenant_id == FABRIKAM)
    assert entry.snapshot is not None
    assert entry.snapshot["de"]["subscriptions"][S + "d001"]["quantity"] == 25
    assert staleness.stale_message(saved, live_state(state)) is None

    moved = live_state(
        state, sources=_with_source_sub(source_views(), FABRIKAM, S + "d001", quantity=30)
    )
    stale = staleness.stale_message(saved, moved)
    assert stale is not None
    text, customers = stale
    assert customers == [FABRIKAM]
    assert f"Fabrikam GmbH ({FABRIKAM}): subscription …d001 quantity 25 → 30" in text
    assert "Nothing was changed" in text and "reconciler plan --out FILE" in text


def test_a_plan_saved_without_snapshots_is_still_refused_naming_the_customer(
    state: model.DesiredState,
) -> None:
    plan = planner.build_plan(state, live_state(state), now=NOW)
    bare = tuple(dataclasses.replace(c, snapshot=None) for c in plan.customers)
    doc = planfile.to_dict(dataclasses.replace(plan, customers=bare))
    assert all("snapshot" not in c for c in doc["customers"])
    old = planfile.from_dict(json.loads(json.dumps(doc)))
    moved = live_state(
        state, sources=_with_source_sub(source_views(), FABRIKAM, S + "d001", quantity=30)
    )
    stale = staleness.stale_message(old, moved)
    assert stale is not None and f"Fabrikam GmbH ({FABRIKAM}): live state moved" in stale[0]


def test_a_damaged_snapshot_is_a_plan_file_error(state: model.DesiredState) -> None:
    doc = planfile.to_dict(planner.build_plan(state, live_state(state), now=NOW))
    doc["customers"][0]["snapshot"] = {"de": {"subscriptions": {}}}
    with pytest.raises(errors.PlanFileError, match=r"snapshot\.de\.read is missing"):
        planfile.from_dict(doc)
