"""A customer held in two source tenants, planned on the hand-built demo world: Alpine Ski
House SE is in `de` (its source) and `fr` (named by the subscriptions held there)."""

from __future__ import annotations

import dataclasses

import demo_world as w

from reconciler import model
from reconciler.planning import actions, planner

A = actions.Action
ALPINE = w.C + "c008"


def _with_alpine(state: model.DesiredState, alpine: model.DesiredCustomer) -> model.DesiredState:
    others = tuple(c for c in state.customers if c.tenant_id != ALPINE)
    return dataclasses.replace(state, customers=(*others, alpine))


def _alpine(state: model.DesiredState) -> model.DesiredCustomer:
    found = state.customer(ALPINE)
    assert found is not None
    return found


def _plan(state: model.DesiredState, **kw: object) -> actions.Plan:
    return planner.build_plan(state, w.accepted(state, **kw), now=w.NOW, include=[ALPINE])


def test_not_a_customer_of_a_source_its_subscriptions_name_is_an_error() -> None:
    state = w.desired()
    srcs = w.source_views()
    srcs["fr"][ALPINE] = w.view(ALPINE, status=model.ReadStatus.NO_RELATIONSHIP)
    plan = _plan(state, sources=srcs)
    [err] = plan.diagnostics
    assert err.code == "not-in-source" and "source tenant fr" in err.message
    assert "alpineskihouse.yaml:" in err.message and plan.changes == ()


def test_an_azure_hand_off_in_the_other_source_is_asked_and_verified_there() -> None:
    state = w.desired()
    alpine = _alpine(state)
    sid = w.S + "f0a8"
    handoff = model.AzureHandoff("azure-fr", sid, False, alpine.origin, source="fr")
    state = _with_alpine(state, dataclasses.replace(alpine, azure=(handoff,)))
    srcs = w.source_views()
    fr = srcs["fr"][ALPINE]
    srcs["fr"][ALPINE] = dataclasses.replace(
        fr, subscriptions=(*fr.subscriptions, w.sub(sid, w.AZURE_LEGACY, 1))
    )
    plan = _plan(state, sources=srcs)
    gates = [c for c in plan.changes if c.action in (A.AZURE_HANDOFF, A.AZURE_VERIFY)]
    assert {(c.action, c.address.tenant) for c in gates} == {
        (A.AZURE_HANDOFF, "fr"),
        (A.AZURE_VERIFY, "fr"),
    }
    [ask] = [c for c in gates if c.action is A.AZURE_HANDOFF]
    assert ask.gate is not None and "from our partner tenant fr to central" in (
        ask.gate.message or ""
    )
    assert plan.azure_ready == ("Alpine Ski House SE",)


def test_a_subscription_added_back_in_the_other_source_is_drift_there() -> None:
    state = w.desired()
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    target[ALPINE] = w.view(
        ALPINE,
        (w.sub("aa000000-0000-4000-8000-0000000000a8", "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G", 25,
               friendly="Exchange [rc:exchange]", age_days=5),),
    )  # fmt: skip
    srcs = w.source_views()
    fr = srcs["fr"][ALPINE]
    added = w.sub(w.S + "f0b8", w.VISIO, 1, age_days=1)
    srcs["fr"][ALPINE] = dataclasses.replace(fr, subscriptions=(*fr.subscriptions, added))
    plan = planner.build_plan(
        state, w.live_state(state, target=target, sources=srcs), now=w.NOW, include=[ALPINE]
    )
    [drift] = [d for d in plan.diagnostics if d.code == "drift-added-back"]
    assert added.id in drift.message and "active in source fr" in drift.message


def test_a_transfer_from_the_other_source_is_requested_from_that_partner() -> None:
    state = w.desired()
    alpine = _alpine(state)
    exchange = alpine.subscriptions[0]
    moved = tuple(
        dataclasses.replace(r, becomes=model.SourceStrategy.TRANSFERRED)
        if r.subscription_id == w.S + "f006"
        else r
        for r in exchange.replaces
    )
    alpine = dataclasses.replace(
        alpine, subscriptions=(dataclasses.replace(exchange, replaces=moved),)
    )
    plan = _plan(_with_alpine(state, alpine))
    [transfer] = [c for c in plan.changes if c.action is A.TRANSFER]
    assert (transfer.address.tenant, transfer.address.subscription_id) == ("fr", w.S + "f006")
    assert "from fr, requested by central" in transfer.detail
    # Accepted by apply on the source it moves from, with that tenant's credentials.
    [accept] = [c for c in plan.changes if c.action is A.ACCEPT]
    assert accept.address.tenant == "fr" and accept.depends_on == (transfer.id,)
