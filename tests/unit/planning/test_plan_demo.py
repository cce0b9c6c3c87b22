"""The planner against the demo world: what an operator sees before and after the customers
accept the invitation, and the rules that must hold for each demo customer."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import demo_world as w
import pytest

from reconciler import model
from reconciler.planning import actions, planner

A = actions.Action


@pytest.fixture(scope="module")
def state() -> model.DesiredState:
    return w.desired()


def plan_for(state: model.DesiredState, live: model.LiveState) -> actions.Plan:
    return planner.build_plan(state, live, now=w.NOW, tool_version="test")


def of(plan: actions.Plan, name: str) -> list[actions.Change]:
    return [c for c in plan.changes if c.address.customer_name == name]


def test_pending_invitations_gate_everything_and_only_gates_remain(state):
    plan = plan_for(state, w.live_state(state))
    invites = [c for c in plan.changes if c.action is A.INVITE]
    assert {c.address.customer_name for c in invites} == {c.name for c in state.customers}
    assert all(c.gate is not None and c.gate.url == w.INVITE_URL for c in invites)
    assert all(
        c.gate is not None and "Global Administrator" in (c.gate.message or "") for c in invites
    )
    creates = [c for c in plan.changes if c.action is A.CREATE]
    # Two of them Alpine Ski House's, held in both sources; Northwind's new-commerce Business
    # Basic arrives by transfer (moveBy: transfer-first), so nothing is bought for it; its
    # Azure plan moves by transfer too, into an Azure plan bought for it in central first.
    assert len(creates) == 11
    [azure_plan] = [c for c in creates if c.address.key == "azure-plan"]
    assert azure_plan.address.customer_name == "Northwind Traders AG"
    assert azure_plan.after["offer_id"] == "DZH318Z0BPS6:0001"
    transfers = [c for c in plan.changes if c.action is A.TRANSFER]
    assert {(c.address.customer_name, c.address.key) for c in transfers} == {
        ("Northwind Traders AG", "business-basic"),
        ("Northwind Traders AG", "azure-plan"),
        ("Woodgrove Consulting GmbH", "business-premium"),
    }
    assert all(c.blocked_by and not c.applicable for c in creates)
    assert plan.outcome == "waiting"
    assert plan.azure_ready == ()


def test_after_acceptance_the_gates_disappear_and_changes_are_applicable(state):
    plan = plan_for(state, w.accepted(state))
    assert not [c for c in plan.changes if c.action is A.INVITE]
    assert plan.outcome == "changes"
    # Northwind's Azure plan moves by transfer: support is asked only for the legacy Azure.
    assert plan.azure_ready == ("Fabrikam GmbH", "Tailspin Toys SAS")


def test_suspensions_are_ordered_after_the_create_they_depend_on(state):
    plan = plan_for(state, w.accepted(state))
    position = {c.id: i for i, c in enumerate(plan.changes)}
    suspends = [c for c in plan.changes if c.action is A.SUSPEND]
    assert len(suspends) == 9  # Alpine Ski House's de and fr Exchange and its fr Visio too
    for s in suspends:
        creates = [plan.changes[position[d]] for d in s.depends_on]
        assert [c.action for c in creates] == [A.CREATE]
        assert creates[0].address.key == s.address.key
        assert position[creates[0].id] < position[s.id]


def test_create_carries_the_marker_and_the_channel(state):
    plan = plan_for(state, w.accepted(state))
    fabrikam = {c.address.key: c for c in of(plan, "Fabrikam GmbH") if c.action is A.CREATE}
    assert fabrikam["office-e3"].after["friendly_name"] == "Office 365 E3 [rc:office-e3]"
    assert fabrikam["office-e3"].after["channel"] == "cart"
    # The legacy Visio in the source is replaced by new-commerce Visio Plan 2: a cart too.
    assert fabrikam["visio"].after["channel"] == "cart"
    assert str(fabrikam["visio"].after["offer_id"]).startswith("CFQ7TTC0HD32:0002")


def test_protected_customer_is_held_not_suspended(state):
    plan = plan_for(state, w.accepted(state))
    litware = of(plan, "Litware Bank SA")
    assert [c.action for c in litware] == [A.CREATE, A.HOLD]
    hold = litware[1]
    assert hold.reason is actions.Reason.PROTECTED and hold.overlap and hold.overlap.days > 1


def reprovision(state: model.DesiredState) -> model.DesiredState:
    """The same manifests under policy moveBy: re-provision (the 2020 procedure)."""
    c = state.consolidation
    policy = dataclasses.replace(c.policy, move_by=model.MoveBy.REPROVISION)
    return dataclasses.replace(state, consolidation=dataclasses.replace(c, policy=policy))


def test_nce_outside_window_turns_auto_renew_off_and_shows_the_overlap(state):
    state = reprovision(state)
    plan = plan_for(state, w.accepted(state))
    [change] = [
        c
        for c in of(plan, "Northwind Traders AG")
        if c.address.key == "business-basic" and c.address.tenant == "de"
    ]
    assert change.action is A.DISABLE_AUTO_RENEW and change.strategy == "expire"
    assert change.overlap is not None and change.overlap.days == 165
    assert any(d.code == "billing-overlap" and "Northwind" in d.message for d in plan.diagnostics)


def test_nce_inside_window_is_cancelled(state):
    state = reprovision(state)
    srcs = w.source_views()
    srcs["de"][w.C + "c002"] = w.view(w.C + "c002", (w.sub(w.S + "d003", w.BASIC, 40, age_days=2),))
    plan = plan_for(state, w.accepted(state, sources=srcs))
    [change] = [
        c for c in of(plan, "Northwind Traders AG") if c.address.subscription_id == w.S + "d003"
    ]
    assert change.action is A.CANCEL
    assert change.deadlines[0].kind == "cancellation-window"


def test_transferred_subscription_is_not_created_but_requested_and_accepted(state):
    plan = plan_for(state, w.accepted(state))
    woodgrove = of(plan, "Woodgrove Consulting GmbH")
    actions_by_key = [(c.action, c.address.key) for c in woodgrove]
    assert (A.CREATE, "business-premium") not in actions_by_key
    assert (A.TRANSFER, "business-premium") in actions_by_key
    [accept] = [c for c in woodgrove if c.action is A.ACCEPT]
    assert accept.address.tenant == "de" and accept.applicable
    assert accept.before is not None and accept.before["quantity"] == 18
    kept = [c for c in woodgrove if c.address.subscription_id == w.S + "d005"]
    assert [c.action for c in kept] == [A.NOOP] and kept[
        0
    ].reason is actions.Reason.KEPT_BY_MANIFEST


def test_merged_sources_need_the_sum_of_their_seats(state):
    srcs = w.source_views()
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    target[w.C + "c004"] = w.view(
        w.C + "c004",
        (
            w.sub(
                "aa000000-0000-4000-8000-000000000001",
                "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G",
                25,
                friendly="Exchange [rc:exchange]",
                age_days=3,
            ),
        ),
    )
    plan = plan_for(state, w.live_state(state, target=target, sources=srcs))
    tailspin = of(plan, "Tailspin Toys SAS")
    # The target has 25 of the 30 wanted seats: resize first, then both sources may go.
    resize = next(c for c in tailspin if c.action is A.RESIZE)
    suspends = [c for c in tailspin if c.action is A.SUSPEND]
    assert resize.after == {"quantity": 30}
    assert len(suspends) == 2 and all(s.depends_on == (resize.id,) for s in suspends)


def test_suspended_target_is_reactivated_before_sources_go(state):
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    # NCE target with 25 seats bought 30 days ago: the manifest wants 30 (increase is fine),
    # but if the manifest wanted fewer than the sources have, nothing may be suspended.
    target[w.C + "c004"] = w.view(
        w.C + "c004",
        (
            w.sub(
                "aa000000-0000-4000-8000-000000000001",
                "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G",
                30,
                friendly="x [rc:exchange]",
                status="suspended",
            ),
        ),
    )
    plan = plan_for(state, w.live_state(state, target=target))
    tailspin = of(plan, "Tailspin Toys SAS")
    react = next(c for c in tailspin if c.action is A.REACTIVATE)
    assert all(s.depends_on == (react.id,) for s in tailspin if s.action is A.SUSPEND)
    assert any(d.code == "drift-suspended" for d in plan.diagnostics)


def test_unknown_state_in_any_tenant_means_no_change(state):
    srcs = w.source_views()
    srcs["fr"][w.C + "c003"] = w.view(
        w.C + "c003", status=model.ReadStatus.UNKNOWN, reason="HTTP 503"
    )
    plan = plan_for(state, w.accepted(state, sources=srcs))
    assert of(plan, "Adatum SARL") == []
    [err] = [d for d in plan.diagnostics if d.customer_id == w.C + "c003"]
    assert err.severity is actions.Severity.ERROR and "HTTP 503" in err.message
    assert plan.outcome == "errored"
    assert plan.customer(w.C + "c003").status is actions.CustomerStatus.SKIPPED


def test_customer_missing_from_a_view_is_unknown_not_absent(state):
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    live = w.live_state(state, target=target)
    tenants = dict(live.tenants)
    central = tenants["central"]
    tenants["central"] = model.TenantView(
        central.tenant, {k: v for k, v in central.customers.items() if k != w.C + "c001"}
    )
    plan = plan_for(state, model.LiveState(live.read_at, tenants, live.invitation_url))
    assert of(plan, "Fabrikam GmbH") == []
    assert any("was not read" in d.message for d in plan.diagnostics)


def test_two_unmarked_candidates_are_an_error_naming_both(state):
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    e3 = "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R"
    target[w.C + "c001"] = w.view(
        w.C + "c001",
        (
            w.sub("aa000000-0000-4000-8000-0000000000e1", e3, 25),
            w.sub("aa000000-0000-4000-8000-0000000000e2", e3, 25),
        ),
    )
    plan = plan_for(state, w.live_state(state, target=target))
    assert of(plan, "Fabrikam GmbH") == []
    [err] = [d for d in plan.diagnostics if d.code == "ambiguous-match"]
    assert "0000000000e1" in err.message and "0000000000e2" in err.message


def test_marker_wins_over_offer_and_survives_a_rename(state):
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    e3 = "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R"
    target[w.C + "c001"] = w.view(
        w.C + "c001",
        (
            w.sub(
                "aa000000-0000-4000-8000-0000000000e1",
                e3,
                25,
                friendly="Renamed by hand [rc:office-e3]",
            ),
            w.sub("aa000000-0000-4000-8000-0000000000e2", e3, 4, friendly="Someone else's"),
        ),
    )
    plan = plan_for(state, w.live_state(state, target=target))
    fab = of(plan, "Fabrikam GmbH")
    assert not any(c.action is A.CREATE and c.address.key == "office-e3" for c in fab)
    assert [u.subscription_id for u in plan.unmanaged] == ["aa000000-0000-4000-8000-0000000000e2"]
    [suspend] = [c for c in fab if c.address.subscription_id == w.S + "d001"]
    assert suspend.action is A.SUSPEND and suspend.depends_on == ()


def test_drift_subscription_added_back_in_source(state):
    srcs = w.source_views()
    fab = srcs["de"][w.C + "c001"]
    added = w.sub("bb000000-0000-4000-8000-000000000001", w.E3_LEGACY, 2, age_days=1)
    srcs["de"][w.C + "c001"] = w.view(w.C + "c001", (*fab.subscriptions, added))
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    target[w.C + "c001"] = w.view(
        w.C + "c001",
        (
            w.sub(
                "aa000000-0000-4000-8000-0000000000e1",
                "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R",
                25,
                age_days=10,
            ),
        ),
    )
    plan = plan_for(state, w.live_state(state, target=target, sources=srcs))
    [drift] = [d for d in plan.diagnostics if d.code == "drift-added-back"]
    assert "bb000000-0000-4000-8000-000000000001" in drift.message


def test_azure_moved_is_verified_and_in_progress_waits(state):
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    srcs = w.source_views()
    fab = srcs["de"][w.C + "c001"]
    moved = [
        s
        if s.id != w.S + "d0a1"
        else w.sub(s.id, w.AZURE_LEGACY, 1, status="suspended", entitlement=s.entitlement_id)
        for s in fab.subscriptions
    ]
    srcs["de"][w.C + "c001"] = w.view(w.C + "c001", tuple(moved))
    target[w.C + "c001"] = w.view(
        w.C + "c001",
        (
            w.sub(
                "cc000000-0000-4000-8000-000000000001",
                w.AZURE_PLAN,
                1,
                entitlement="a2c1a001-0000-4000-8000-000000000001",
            ),
        ),
    )
    plan = plan_for(state, w.live_state(state, target=target, sources=srcs))
    [fab_azure] = [c for c in of(plan, "Fabrikam GmbH") if c.address.key == "azure-production"]
    assert fab_azure.action is A.NOOP and fab_azure.reason is actions.Reason.AZURE_MOVED
    assert "Fabrikam GmbH" not in plan.azure_ready


def test_caps_defer_suspensions_beyond_the_policy(state):
    import dataclasses

    cons = dataclasses.replace(
        state.consolidation,
        policy=dataclasses.replace(state.consolidation.policy, max_suspensions_per_apply=2),
    )
    capped = dataclasses.replace(state, consolidation=cons)
    plan = plan_for(capped, w.accepted(capped))
    assert sum(1 for c in plan.changes if c.action is A.SUSPEND) == 2
    assert sum(1 for c in plan.deferred if c.action is A.SUSPEND) == 7
    assert any(d.code == "cap-deferred" for d in plan.diagnostics)


def test_customer_filters(state):
    plan = planner.build_plan(state, w.accepted(state), now=w.NOW, include=["fabrikam gmbh"])
    assert [c.name for c in plan.customers] == ["Fabrikam GmbH"]
    plan = planner.build_plan(
        state, w.accepted(state), now=w.NOW, source="fr", exclude=[w.C + "c005"]
    )
    # A customer held in several sources is in the scope of each.
    assert [c.name for c in plan.customers] == [
        "Adatum SARL",
        "Alpine Ski House SE",
        "Tailspin Toys SAS",
    ]


def test_seat_reduction_outside_window_is_not_planned(state):
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    target[w.C + "c003"] = w.view(
        w.C + "c003",
        (
            w.sub(
                "aa000000-0000-4000-8000-000000000003",
                "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G",
                70,
                friendly="Messagerie [rc:exchange]",
                age_days=30,
            ),
        ),
    )
    plan = plan_for(state, w.live_state(state, target=target))
    assert not [c for c in of(plan, "Adatum SARL") if c.action is A.RESIZE]
    assert any(d.code == "seat-reduction-blocked" for d in plan.diagnostics)


def test_pending_target_is_a_gate_before_suspension(state):
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    target[w.C + "c005"] = w.view(w.C + "c005", ())
    target[w.C + "c003"] = w.view(
        w.C + "c003",
        (
            w.sub(
                "aa000000-0000-4000-8000-000000000003",
                "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G",
                60,
                friendly="Messagerie [rc:exchange]",
                status="pending",
                age_days=0,
            ),
        ),
    )
    plan = plan_for(state, w.live_state(state, target=target, read_at=w.NOW + timedelta(minutes=1)))
    adatum = of(plan, "Adatum SARL")
    await_gate = next(c for c in adatum if c.action is A.AWAIT_ACTIVATION)
    [suspend] = [c for c in adatum if c.address.subscription_id == w.S + "f001"]
    assert suspend.blocked_by == (await_gate.id,) and not suspend.applicable
