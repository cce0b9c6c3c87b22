"""How the planner moves an Azure plan (issue 12 point 1): by partner-to-partner transfer into
the customer's active Azure plan in the target when eligible, buying that Azure plan first when
the target holds none, else the support hand-off with the reason in the plan's strategies.

Northwind (demo world) holds new-commerce Business Basic (d003) and an Azure plan (d0a2) in
``de``; its invitation is accepted in every case here.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import demo_world as w

from reconciler import model
from reconciler.planning import actions, planner

A = actions.Action
R = actions.Route
NW = w.C + "c002"
PLAN = w.S + "d0a2"
BASIC = w.S + "d003"
DE = "0f6a1b8e-0000-4000-8000-0000000000de"
TARGET_PLAN = "aa000000-0000-4000-8000-0000000000a1"


def build(
    *,
    target_subs: tuple[model.LiveSubscription, ...] = (),
    extra_source: tuple[model.LiveSubscription, ...] = (),
    transfers: tuple[model.LiveTransfer, ...] = (),
    policy: model.Policy | None = None,
    agreement: bool | None = True,
    protect: bool = False,
    source_status: str = "active",
) -> actions.Plan:
    state = w.desired()
    cons = state.consolidation
    if policy is not None:
        state = dataclasses.replace(state, consolidation=dataclasses.replace(cons, policy=policy))
    if protect:
        customers = tuple(
            dataclasses.replace(
                c, azure=tuple(dataclasses.replace(h, protect=True) for h in c.azure)
            )
            if c.tenant_id == NW
            else c
            for c in state.customers
        )
        state = dataclasses.replace(state, customers=customers)
    srcs = w.source_views()
    srcs["de"][NW] = w.view(
        NW,
        (
            w.sub(BASIC, w.BASIC, 40, age_days=200),
            w.sub(PLAN, w.AZURE_PLAN, 1, status=source_status),
            *extra_source,
        ),
    )
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    target[NW] = dataclasses.replace(
        w.view(NW, target_subs, transfers=transfers), agreement=agreement
    )
    return planner.build_plan(state, w.live_state(state, target=target, sources=srcs), now=w.NOW)


def mine(plan: actions.Plan) -> list[actions.Change]:
    return [c for c in plan.changes if c.address.customer_id == NW]


def of(plan: actions.Plan, action: actions.Action, key: str = "azure-plan") -> list[actions.Change]:
    return [c for c in mine(plan) if c.action is action and c.address.key == key]


def strategy(plan: actions.Plan, sid: str = PLAN) -> actions.PairStrategy:
    [s] = [p for p in plan.strategies if p.subscription_id == sid]
    return s


def never_cut(plan: actions.Plan) -> None:
    """Rule 1's analogue: the source Azure plan is never suspended or cancelled by the plan."""
    cuts = (A.SUSPEND, A.CANCEL, A.DISABLE_AUTO_RENEW)
    assert not [
        c
        for c in (*plan.changes, *plan.deferred)
        if c.action in cuts and c.address.key == "azure-plan"
    ]


def azure_plan(status: str = "active") -> model.LiveSubscription:
    return w.sub(TARGET_PLAN, w.AZURE_PLAN, 1, status=status, friendly="Azure plan")


def test_an_eligible_azure_plan_moves_by_transfer_into_the_targets_active_azure_plan():
    plan = build(target_subs=(azure_plan(),))
    s = strategy(plan)
    assert s.route is R.TRANSFER and s.action is None
    assert "targetProductTypes AzureSubscription" in s.why and TARGET_PLAN in s.why
    assert "never suspended or cancelled" in s.why
    assert [r.route for r in s.rejected] == [R.SUPPORT]
    [transfer] = of(plan, A.TRANSFER)
    assert (transfer.address.tenant, transfer.address.subscription_id) == ("de", PLAN)
    assert transfer.applicable and transfer.overlap is not None and transfer.overlap.days == 0
    [accept] = of(plan, A.ACCEPT)
    assert accept.depends_on == (transfer.id,) and accept.address.subscription_id == PLAN
    assert not of(plan, A.CREATE)  # the target's Azure plan is there already
    assert not [c for c in mine(plan) if c.action in (A.AZURE_HANDOFF, A.AZURE_VERIFY)]
    assert "Northwind Traders AG" not in plan.azure_ready
    never_cut(plan)


def test_without_an_azure_plan_in_the_target_it_is_bought_first_and_every_request_waits():
    plan = build()
    [buy] = of(plan, A.CREATE)
    assert buy.address.tenant == "central" and buy.applicable
    assert buy.after == {
        "offer_id": "DZH318Z0BPS6:0001",
        "quantity": 1,
        "billing_cycle": "one_time",
        "term_duration": None,
        "friendly_name": "Azure plan [rc:azure-plan]",
        "channel": "cart",
    }
    assert "900133" in buy.detail and "costs nothing until" in buy.detail
    [azure] = of(plan, A.TRANSFER)
    # One request per source carries every product type, so the license transfer from de
    # waits for the Azure plan too (a second request would be refused with 900101).
    [licenses] = of(plan, A.TRANSFER, "business-basic")
    assert buy.id in azure.depends_on and buy.id in licenses.depends_on
    assert "buys for the customer in central first" in strategy(plan).why
    assert strategy(plan, BASIC).route is R.TRANSFER
    never_cut(plan)


def test_the_azure_plan_purchase_waits_for_the_customer_agreement_gate():
    plan = build(agreement=False)
    [gate] = [c for c in mine(plan) if c.action is A.CONFIRM_AGREEMENT]
    [buy] = of(plan, A.CREATE)
    [azure] = of(plan, A.TRANSFER)
    assert gate.id in buy.depends_on and not buy.applicable
    assert gate.id in azure.blocked_by and not azure.applicable


def test_a_provisioning_azure_plan_in_the_target_is_awaited_not_bought_again():
    plan = build(target_subs=(azure_plan("pending"),))
    assert not of(plan, A.CREATE)
    [wait] = of(plan, A.AWAIT_ACTIVATION)
    assert wait.address.subscription_id == TARGET_PLAN
    [azure] = of(plan, A.TRANSFER)
    assert wait.id in azure.blocked_by and not azure.applicable


def test_legacy_azure_in_the_same_source_keeps_the_support_handoff_with_the_reason():
    legacy = w.sub(w.S + "d0a9", w.AZURE_LEGACY, 1)
    plan = build(target_subs=(azure_plan(),), extra_source=(legacy,))
    s = strategy(plan)
    assert s.route is R.SUPPORT and [r.route for r in s.rejected] == [R.TRANSFER]
    assert "legacy Azure in de" in s.rejected[0].why and "900131" in s.rejected[0].why
    assert not of(plan, A.TRANSFER) and not of(plan, A.CREATE)
    # The target's Azure plan is active, so the support rules verify the move.
    assert of(plan, A.AZURE_VERIFY)
    [warning] = [d for d in plan.diagnostics if d.code == "transfer-ineligible"]
    assert PLAN in warning.message and "Microsoft support" in warning.message
    never_cut(plan)


def test_legacy_azure_itself_is_handed_to_support_as_before():
    plan = build()
    fabrikam = next(p for p in plan.strategies if p.key == "azure-production")
    assert fabrikam.route is R.SUPPORT and "900131" in fabrikam.rejected[0].why
    assert "Fabrikam GmbH" in plan.azure_ready


def test_policy_re_provision_hands_an_azure_plan_to_microsoft_support():
    plan = build(policy=model.Policy(move_by=model.MoveBy.REPROVISION))
    s = strategy(plan)
    assert s.route is R.SUPPORT and "moveBy: re-provision" in s.why
    assert s.rejected == (actions.Rejected(R.TRANSFER, "the policy says moveBy: re-provision"),)
    [gate] = [c for c in mine(plan) if c.action is A.AZURE_HANDOFF]
    assert gate.gate is not None and "Northwind Traders AG" in (gate.gate.message or "")
    assert not of(plan, A.TRANSFER) and not of(plan, A.CREATE)
    assert not [d for d in plan.diagnostics if d.code == "transfer-ineligible"]


def test_a_suspended_azure_plan_in_the_target_falls_back_to_support_saying_900132():
    plan = build(target_subs=(azure_plan("suspended"),))
    s = strategy(plan)
    assert s.route is R.SUPPORT
    assert "is suspended (Partner Center answers 900132" in s.rejected[0].why
    assert not of(plan, A.TRANSFER) and not of(plan, A.CREATE) and not of(plan, A.REACTIVATE)


def test_manual_acceptance_leaves_the_acceptance_to_a_person():
    policy = model.Policy(transfer_acceptance=model.TransferAcceptance.MANUAL)
    plan = build(target_subs=(azure_plan(),), policy=policy)
    [transfer] = of(plan, A.TRANSFER)
    [gate] = of(plan, A.ACCEPT_TRANSFER)
    assert gate.depends_on == (transfer.id,) and gate.gate is not None
    assert gate.gate.waiting_on == "source-partner"
    assert not of(plan, A.ACCEPT)


def _transfer(status: model.TransferStatus, lines: tuple[str, ...] = ()) -> model.LiveTransfer:
    created = w.NOW - timedelta(days=1)
    return model.LiveTransfer(
        id="77000000-0000-4000-8000-000000000001",
        status=status,
        source_partner_id=DE,
        target_partner_id=w.CENTRAL,
        created_at=created,
        expires_at=created + timedelta(days=30),
        lines=tuple(model.LiveTransferLine(sid, None, order_id="o-1") for sid in lines),
    )


def test_an_open_request_is_accepted_not_requested_again():
    plan = build(target_subs=(azure_plan(),), transfers=(_transfer(model.TransferStatus.PENDING),))
    assert not [c for c in mine(plan) if c.action is A.TRANSFER]
    [accept] = of(plan, A.ACCEPT)
    assert accept.after == {"transfer_id": "77000000-0000-4000-8000-000000000001"}


def test_a_completed_transfer_is_reported_as_moved_and_nothing_else_is_planned():
    done = _transfer(model.TransferStatus.COMPLETED, (PLAN, BASIC))
    for status in ("deleted", "active"):
        plan = build(target_subs=(azure_plan(),), transfers=(done,), source_status=status)
        s = strategy(plan)
        assert s.route is R.TRANSFER and done.id in s.why
        [noop] = of(plan, A.NOOP)
        assert noop.reason is actions.Reason.AZURE_MOVED and TARGET_PLAN in noop.detail
        assert ("this tool never suspends it" in noop.detail) is (status == "active")
        assert not [
            c for c in mine(plan) if c.address.key == "azure-plan" and c.action is not A.NOOP
        ]
        never_cut(plan)


def test_a_protected_azure_plan_is_held():
    plan = build(target_subs=(), protect=True)
    [held] = of(plan, A.HOLD)
    assert held.address.subscription_id == PLAN
    assert not of(plan, A.TRANSFER) and not of(plan, A.CREATE)
