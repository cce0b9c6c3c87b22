"""The planner with transfer requests in live state (Woodgrove's ``becomes: transferred``):
a pending request is waited for, never requested again; an ended one is requested again and
says why; a completed one pairs the target subscription it created; unknown requests stop
the customer; and a request appearing makes a saved plan stale."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from types import MappingProxyType

import demo_world as w
import pytest

from reconciler import model
from reconciler.planning import actions, fingerprint, planner

A = actions.Action
R = actions.Reason
WOODGROVE = w.C + "c006"
D004 = w.S + "d004"
DE = "0f6a1b8e-0000-4000-8000-0000000000de"
FR = "0f6a1b8e-0000-4000-8000-0000000000f2"


@pytest.fixture(scope="module")
def state() -> model.DesiredState:
    return w.desired()


def transfer(
    status: model.TransferStatus = model.TransferStatus.PENDING,
    *,
    tid: str = "tr-1",
    source: str = DE,
    lines: tuple[model.LiveTransferLine, ...] = (),
    age_days: int = 3,
) -> model.LiveTransfer:
    created = w.NOW - timedelta(days=age_days)
    return model.LiveTransfer(
        id=tid,
        status=status,
        source_partner_id=source,
        target_partner_id=w.CENTRAL,
        created_at=created,
        expires_at=created + timedelta(days=30),
        lines=lines,
    )


def live_with(
    state: model.DesiredState,
    transfers: tuple[model.LiveTransfer, ...] | None,
    target_subs: tuple[model.LiveSubscription, ...] = (),
    source_status: str = "active",
) -> model.LiveState:
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    target[WOODGROVE] = w.view(WOODGROVE, target_subs, transfers=transfers)
    sources = w.source_views()
    sources["de"][WOODGROVE] = w.view(
        WOODGROVE,
        (
            w.sub(D004, w.PREMIUM, 18, age_days=40, status=source_status),
            w.sub(w.S + "d005", w.EXCHANGE_LEGACY, 5),
        ),
    )
    return w.live_state(state, target=target, sources=sources)


def woodgrove(plan: actions.Plan) -> list[actions.Change]:
    return [c for c in plan.changes if c.address.customer_id == WOODGROVE]


def plan_for(state: model.DesiredState, live: model.LiveState) -> actions.Plan:
    return planner.build_plan(state, live, now=w.NOW, tool_version="test")


@pytest.fixture(scope="module")
def manual(state: model.DesiredState) -> model.DesiredState:
    """``policy.transferAcceptance: manual``: a person accepts, the plan keeps a gate."""
    policy = dataclasses.replace(
        state.consolidation.policy, transfer_acceptance=model.TransferAcceptance.MANUAL
    )
    cons = dataclasses.replace(state.consolidation, policy=policy)
    return dataclasses.replace(state, consolidation=cons)


def test_no_request_yet_plans_a_transfer_and_its_acceptance_by_apply(state):
    changes = woodgrove(plan_for(state, live_with(state, ())))
    [request] = [c for c in changes if c.action is A.TRANSFER]
    [accept] = [c for c in changes if c.action is A.ACCEPT]
    assert not [c for c in changes if c.action is A.ACCEPT_TRANSFER]
    assert accept.depends_on == (request.id,) and accept.applicable
    assert accept.address.tenant == "de" and accept.address.subscription_id == D004
    assert accept.before is not None and accept.before["quantity"] == 18


def test_a_pending_request_is_accepted_by_apply_naming_the_request(state):
    changes = woodgrove(plan_for(state, live_with(state, (transfer(age_days=10),))))
    assert not [c for c in changes if c.action is A.TRANSFER]
    [accept] = [c for c in changes if c.action is A.ACCEPT]
    assert accept.after == {"transfer_id": "tr-1"} and accept.applicable
    assert accept.depends_on == ()


def test_an_accepted_request_still_being_carried_out_waits_for_partner_center(state):
    moving = transfer(lines=(model.LiveTransferLine(D004),))
    changes = woodgrove(plan_for(state, live_with(state, (moving,))))
    assert not [c for c in changes if c.action in (A.TRANSFER, A.ACCEPT, A.ACCEPT_TRANSFER)]
    [wait] = [c for c in changes if c.action is A.AWAIT_ACTIVATION]
    assert "accepted" in wait.detail and wait.address.tenant == "central"


def test_no_request_yet_plans_a_transfer_and_its_gate(manual):
    state = manual
    changes = woodgrove(plan_for(state, live_with(state, ())))
    [request] = [c for c in changes if c.action is A.TRANSFER]
    [gate] = [c for c in changes if c.action is A.ACCEPT_TRANSFER]
    assert request.reason is R.ARRIVES_BY_TRANSFER and request.applicable
    assert gate.depends_on == (request.id,)


def test_a_pending_request_leaves_only_the_acceptance_gate_with_its_own_expiry(manual):
    state = manual
    pending = transfer(age_days=10)
    plan = plan_for(state, live_with(state, (pending,)))
    changes = woodgrove(plan)
    assert not [c for c in changes if c.action is A.TRANSFER]
    [gate] = [c for c in changes if c.action is A.ACCEPT_TRANSFER]
    assert gate.depends_on == () and gate.blocked_by == ()
    assert gate.gate is not None and gate.gate.waiting_on == "source-partner"
    assert "tr-1" in gate.detail and D004 in gate.detail
    expiry = [d for d in gate.deadlines if d.kind == "transfer-expiry"]
    assert [d.at for d in expiry] == [pending.expires_at]
    # Woodgrove's remaining work is the Exchange order only; no transfer is applicable.
    assert {c.action for c in changes if c.applicable} == {A.CREATE}


def test_a_pending_request_that_did_not_take_the_subscription_still_blocks_a_new_one(state):
    other = model.LiveTransferLine(w.S + "d999")
    changes = woodgrove(plan_for(state, live_with(state, (transfer(lines=(other,)),))))
    assert not [c for c in changes if c.action is A.TRANSFER]
    [gate] = [c for c in changes if c.action is A.ACCEPT_TRANSFER]
    assert "without" in gate.detail


@pytest.mark.parametrize(
    "status",
    [model.TransferStatus.EXPIRED, model.TransferStatus.CANCELLED, model.TransferStatus.FAILED],
)
def test_an_ended_request_is_asked_again_and_the_plan_says_why(state, status):
    ended = transfer(status, age_days=45)
    changes = woodgrove(plan_for(state, live_with(state, (ended,))))
    [request] = [c for c in changes if c.action is A.TRANSFER]
    assert request.reason is R.PREVIOUS_TRANSFER_ENDED
    assert f"previous request tr-1 {status.value}" in request.detail
    assert request.applicable


def test_a_request_from_another_source_partner_does_not_count(state):
    elsewhere = transfer(source=FR)
    changes = woodgrove(plan_for(state, live_with(state, (elsewhere,))))
    [request] = [c for c in changes if c.action is A.TRANSFER]
    assert request.reason is R.ARRIVES_BY_TRANSFER


def test_a_completed_transfer_pairs_the_subscription_it_created(state):
    # Two unmarked target subscriptions of the offer: by offer alone this is ambiguous; the
    # completed line item names the right one.
    twin = w.sub(w.S + "e001", w.PREMIUM, 18, age_days=1)
    other = w.sub(w.S + "e002", w.PREMIUM, 2, age_days=1)
    line = model.LiveTransferLine(D004, twin.id, "Complete")
    done = transfer(model.TransferStatus.COMPLETED, lines=(line,))
    plan = plan_for(
        state, live_with(state, (done,), target_subs=(twin, other), source_status="deleted")
    )
    assert not [d for d in plan.diagnostics if d.customer_id == WOODGROVE and d.severity == "error"]
    changes = woodgrove(plan)
    premium = [c for c in changes if c.address.key == "business-premium"]
    assert not [c for c in premium if c.action in (A.TRANSFER, A.ACCEPT_TRANSFER, A.CREATE)]
    [kept] = [
        c for c in changes if c.address.key == "business-premium" and c.address.tenant == "central"
    ]
    assert kept.action is A.NOOP and kept.address.subscription_id == twin.id
    assert [u.subscription_id for u in plan.unmanaged if u.customer_id == WOODGROVE] == [other.id]


def test_a_completed_transfer_whose_subscription_is_not_visible_yet_is_awaited(state):
    line = model.LiveTransferLine(D004, w.S + "e001", "Complete")
    done = transfer(model.TransferStatus.COMPLETED, lines=(line,))
    changes = woodgrove(plan_for(state, live_with(state, (done,))))
    assert not [c for c in changes if c.action is A.TRANSFER]
    [wait] = [c for c in changes if c.action is A.AWAIT_ACTIVATION]
    assert wait.address.subscription_id == w.S + "e001"


@pytest.mark.parametrize("reason", ["", "HTTP 503"])
def test_unknown_transfer_requests_stop_the_customer_and_only_it(state, reason):
    live = live_with(state, None)
    tv = live.tenants["central"]
    view = dataclasses.replace(tv.customers[WOODGROVE], transfers_reason=reason)
    customers = {**tv.customers, WOODGROVE: view}
    tenants = {**live.tenants, "central": model.TenantView(tv.tenant, MappingProxyType(customers))}
    plan = plan_for(state, dataclasses.replace(live, tenants=MappingProxyType(tenants)))
    assert woodgrove(plan) == []
    [err] = [d for d in plan.diagnostics if d.customer_id == WOODGROVE]
    assert err.code == "state-unknown" and "transfer requests" in err.message
    assert (reason or "not read") in err.message
    entry = plan.customer(WOODGROVE)
    assert entry is not None and entry.status is actions.CustomerStatus.SKIPPED
    assert len({c.address.customer_id for c in plan.changes}) > 1  # others still planned


def test_unknown_requests_do_not_matter_to_customers_without_a_transfer(state):
    live = live_with(state, ())
    tv = live.tenants["central"]
    adatum = w.C + "c003"
    customers = {**tv.customers, adatum: dataclasses.replace(tv.customers[adatum], transfers=None)}
    tenants = {**live.tenants, "central": model.TenantView(tv.tenant, MappingProxyType(customers))}
    plan = plan_for(state, dataclasses.replace(live, tenants=MappingProxyType(tenants)))
    assert not [d for d in plan.diagnostics if d.customer_id == adatum and d.severity == "error"]


def test_a_request_appearing_makes_the_saved_plan_stale_for_that_customer_only(state):
    plan = plan_for(state, live_with(state, ()))
    assert fingerprint.moved_customers(plan, live_with(state, ())) == ()
    moved = fingerprint.moved_customers(plan, live_with(state, (transfer(),)))
    assert [c.tenant_id for c in moved] == [WOODGROVE]
    accepted = transfer(lines=(model.LiveTransferLine(D004),))
    later = plan_for(state, live_with(state, (transfer(),)))
    assert [
        c.tenant_id for c in fingerprint.moved_customers(later, live_with(state, (accepted,)))
    ] == [WOODGROVE]


def test_transfer_customers_names_only_those_whose_plan_depends_on_requests(state):
    reprovision = model.Policy(move_by=model.MoveBy.REPROVISION)
    assert planner.transfer_customers(state.customers, reprovision) == (WOODGROVE,)
    # A policy preferring transfers (nceSourceStrategy: transfer, or the default moveBy:
    # transfer-first) may move an auto pair by transfer when its entry buys new commerce and
    # replaces that one subscription: those customers' requests are read too.
    movable = {
        c.tenant_id
        for c in state.customers
        for d in c.subscriptions
        if d.commerce is model.CommerceModel.NCE_LICENSE
        and len(d.replaces) == 1
        and d.replaces[0].becomes is model.SourceStrategy.AUTO
    }
    # Northwind, Adatum, Litware; Fabrikam and Alpine Ski House too: their Visio entries buy the
    # new-commerce Visio Plan 2 and replace one (legacy) subscription each; the read is decided
    # from the manifests alone, before the source's commerce model is known.
    assert movable == {w.C + n for n in ("c001", "c002", "c003", "c005", "c008")}
    # A customer with an Azure hand-off may hold an Azure plan, which moves by transfer: Tailspin
    # (legacy Azure only, known once its source is read) is read too.
    azure = {c.tenant_id for c in state.customers if c.azure}
    assert azure - movable == {w.C + "c004"}
    for policy in (
        model.Policy(nce_strategy=model.NceStrategy.TRANSFER),
        state.consolidation.policy,
    ):
        assert set(planner.transfer_customers(state.customers, policy)) == (
            movable | azure | {WOODGROVE}
        )


def test_one_accepted_request_carrying_two_sources_of_an_entry_waits_once(state):
    """An entry merging two sources, both ``becomes: transferred`` and both named by the one
    accepted request: one wait for the transfer to finish (a second change with the same id
    broke the plan's ordering)."""
    extra = w.S + "d0e1"
    customers = []
    for c in state.customers:
        if c.tenant_id != WOODGROVE:
            customers.append(c)
            continue
        ds = c.subscriptions[0]
        more = model.Replacement(extra, model.SourceStrategy.TRANSFERRED, ds.origin)
        ds = dataclasses.replace(ds, quantity=20, replaces=(*ds.replaces, more))
        customers.append(dataclasses.replace(c, subscriptions=(ds, *c.subscriptions[1:])))
    merged = dataclasses.replace(state, customers=tuple(customers))
    lines = (model.LiveTransferLine(D004), model.LiveTransferLine(extra))
    live = live_with(merged, (transfer(lines=lines),))
    sources = dict(live.tenants["de"].customers)
    view = sources[WOODGROVE]
    sources[WOODGROVE] = dataclasses.replace(
        view, subscriptions=(*view.subscriptions, w.sub(extra, w.PREMIUM, 2, age_days=40))
    )
    tenants = {**live.tenants, "de": model.TenantView(live.tenants["de"].tenant, sources)}
    plan = plan_for(merged, dataclasses.replace(live, tenants=MappingProxyType(tenants)))
    waits = [
        c
        for c in woodgrove(plan)
        if c.action is A.AWAIT_ACTIVATION and c.address.key == "business-premium"
    ]
    assert len(waits) == 1 and len({c.id for c in plan.changes}) == len(plan.changes)
