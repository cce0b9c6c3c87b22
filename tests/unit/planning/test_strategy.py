"""Which strategy each source subscription gets, and what the plan says it costs."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import demo_world as w
import pytest

from reconciler import model
from reconciler.planning import actions, billing, markers, planner, strategy

S = strategy.Strategy
B = model.SourceStrategy
N = model.NceStrategy

LEGACY = w.sub(w.S + "0001", w.E3_LEGACY, 10)
NCE_OLD = w.sub(w.S + "0002", w.BASIC, 10, age_days=200)
NCE_NEW = w.sub(w.S + "0003", w.BASIC, 10, age_days=2)


@pytest.mark.parametrize(
    ("becomes", "sub", "policy", "expected"),
    [
        (B.AUTO, LEGACY, N.CANCEL_OR_EXPIRE, S.SUSPEND),
        (B.AUTO, NCE_NEW, N.CANCEL_OR_EXPIRE, S.CANCEL),
        (B.AUTO, NCE_OLD, N.CANCEL_OR_EXPIRE, S.EXPIRE),
        (B.AUTO, NCE_OLD, N.TRANSFER, S.TRANSFER),
        (B.AUTO, NCE_OLD, N.SUSPEND, S.SUSPEND),
        (B.AUTO, NCE_NEW, N.EXPIRE, S.EXPIRE),
        (B.SUSPENDED, NCE_OLD, N.CANCEL_OR_EXPIRE, S.SUSPEND),
        (B.CANCELLED, LEGACY, N.CANCEL_OR_EXPIRE, S.SUSPEND),
        (B.CANCELLED, NCE_NEW, N.CANCEL_OR_EXPIRE, S.CANCEL),
        (B.CANCELLED, NCE_OLD, N.CANCEL_OR_EXPIRE, S.EXPIRE),
        (B.TRANSFERRED, NCE_OLD, N.CANCEL_OR_EXPIRE, S.TRANSFER),
        (B.KEPT, LEGACY, N.TRANSFER, S.KEEP),
    ],
)
def test_strategy_table(becomes, sub, policy, expected):
    """Under moveBy: re-provision (the 2020 procedure) nceSourceStrategy decides."""
    reprovision = model.Policy(nce_strategy=policy, move_by=model.MoveBy.REPROVISION)
    decision = strategy.resolve(becomes, sub, reprovision, w.NOW)
    assert decision.strategy is expected
    assert decision.why


@pytest.mark.parametrize(
    ("becomes", "sub", "policy", "expected"),
    [
        (B.AUTO, LEGACY, N.CANCEL_OR_EXPIRE, S.SUSPEND),
        (B.AUTO, NCE_NEW, N.CANCEL_OR_EXPIRE, S.TRANSFER),
        (B.AUTO, NCE_OLD, N.SUSPEND, S.TRANSFER),
        (B.SUSPENDED, NCE_OLD, N.CANCEL_OR_EXPIRE, S.SUSPEND),
        (B.KEPT, NCE_OLD, N.CANCEL_OR_EXPIRE, S.KEEP),
    ],
)
def test_transfer_first_is_the_default_for_new_commerce(becomes, sub, policy, expected):
    decision = strategy.resolve(becomes, sub, model.Policy(nce_strategy=policy), w.NOW)
    assert decision.strategy is expected
    assert decision.why and decision.rejected and all(r.why for r in decision.rejected)
    assert decision.route not in {r.route for r in decision.rejected}


def test_a_transfer_says_what_re_buying_would_cost():
    d = strategy.resolve(B.AUTO, NCE_OLD, model.Policy(), w.NOW)
    assert d.route is actions.Route.TRANSFER
    assert "nothing is bought and nothing is suspended" in d.why
    [rejected] = d.rejected
    assert rejected.route is actions.Route.REPROVISION and "bills both tenants" in rejected.why


def test_a_legacy_license_buys_its_successor_and_rejects_the_transfer():
    d = strategy.resolve(B.AUTO, LEGACY, model.Policy(), w.NOW)
    assert (d.strategy, d.route) == (S.SUSPEND, actions.Route.REPROVISION)
    assert "successor" in d.why and "same day" in d.why
    assert d.rejected[0].route is actions.Route.TRANSFER
    assert "legacy" in d.rejected[0].why


@pytest.mark.parametrize(
    ("sub", "nce", "expected"),
    [
        (NCE_NEW, N.CANCEL_OR_EXPIRE, S.CANCEL),
        (NCE_OLD, N.CANCEL_OR_EXPIRE, S.EXPIRE),
        (NCE_OLD, N.TRANSFER, S.EXPIRE),
        (NCE_OLD, N.SUSPEND, S.SUSPEND),
    ],
)
def test_a_blocked_transfer_falls_back_to_re_provisioning_and_says_why(sub, nce, expected):
    for becomes in (B.AUTO, B.TRANSFERRED):
        d = strategy.resolve(becomes, sub, model.Policy(nce_strategy=nce), w.NOW, "regions differ")
        assert d.strategy is expected
        assert "a transfer cannot move it: regions differ" in d.why
        assert "re-provisioned" in d.why
        assert [(r.route, r.why) for r in d.rejected] == [
            (actions.Route.TRANSFER, "regions differ")
        ]


def test_re_provision_policy_rejects_the_transfer_by_name():
    reprovision = model.Policy(move_by=model.MoveBy.REPROVISION)
    d = strategy.resolve(B.AUTO, NCE_OLD, reprovision, w.NOW)
    assert d.strategy is S.EXPIRE
    assert [r.why for r in d.rejected] == ["the policy says moveBy: re-provision"]


def test_nce_suspension_says_billing_continues_and_counts_the_days():
    decision = strategy.resolve(B.SUSPENDED, NCE_OLD, model.Policy(), w.NOW)
    assert "keeps billing" in decision.why
    overlap = billing.overlap(S.SUSPEND, NCE_OLD, w.NOW, w.NOW)
    assert overlap.days == (NCE_OLD.commitment_end_date.date() - w.NOW.date()).days
    legacy = billing.overlap(S.SUSPEND, LEGACY, w.NOW - timedelta(days=2), w.NOW)
    # Only days this plan causes count; the two already billed are past, told in the note.
    assert legacy.days == 0
    assert legacy.note.endswith("both tenants already billed 2 days before today")


def test_deadlines_are_the_subscriptions_own():
    found = billing.deadlines(NCE_NEW, S.TRANSFER, w.NOW)
    assert [d.kind for d in found] == ["cancellation-window", "transfer-expiry", "term-end"]
    assert found[0].at == NCE_NEW.cancellation_allowed_until


def _with(state: model.DesiredState, name: str, **changes) -> model.DesiredState:
    customers = tuple(
        dataclasses.replace(c, **changes) if c.name == name else c for c in state.customers
    )
    return dataclasses.replace(state, customers=customers)


def test_target_smaller_than_the_sources_blocks_the_suspension():
    state = w.desired()
    tailspin = next(c for c in state.customers if c.name == "Tailspin Toys SAS")
    subs = tuple(
        dataclasses.replace(s, quantity=25) if s.key == "exchange" else s
        for s in tailspin.subscriptions
    )
    state = _with(state, "Tailspin Toys SAS", subscriptions=subs)
    plan = planner.build_plan(state, w.accepted(state), now=w.NOW)
    tail = [c for c in plan.changes if c.address.customer_name == "Tailspin Toys SAS"]
    assert not [c for c in tail if c.action is actions.Action.SUSPEND]
    [why] = [d for d in plan.diagnostics if d.code == "insufficient-seats"][:1]
    assert "25 seats" in why.message and "30" in why.message


def test_policy_transfer_moves_nce_sources_instead_of_creating():
    state = w.desired()
    cons = dataclasses.replace(
        state.consolidation,
        policy=dataclasses.replace(state.consolidation.policy, nce_strategy=N.TRANSFER),
    )
    state = dataclasses.replace(state, consolidation=cons)
    plan = planner.build_plan(state, w.accepted(state), now=w.NOW)
    north = [c for c in plan.changes if c.address.customer_name == "Northwind Traders AG"]
    assert [c.action for c in north if c.address.key == "business-basic"] == [
        actions.Action.TRANSFER,
        actions.Action.ACCEPT,
    ]


def test_missing_invitation_url_still_gives_a_sendable_message():
    state = w.desired()
    plan = planner.build_plan(state, w.live_state(state, invitation_url=None), now=w.NOW)
    invite = next(c for c in plan.changes if c.action is actions.Action.INVITE)
    assert invite.gate is not None and invite.gate.url is None
    assert "copy it from Partner Center" in (invite.gate.message or "")


def test_customer_not_in_its_source_tenant_is_an_error():
    state = w.desired()
    srcs = w.source_views()
    srcs["fr"][w.C + "c003"] = w.view(w.C + "c003", status=model.ReadStatus.NO_RELATIONSHIP)
    plan = planner.build_plan(state, w.accepted(state, sources=srcs), now=w.NOW)
    [err] = [d for d in plan.diagnostics if d.code == "not-in-source"]
    assert "source tenant fr" in err.message and "adatum.yaml" in err.message


def test_source_id_that_does_not_exist_is_reported():
    state = w.desired()
    srcs = w.source_views()
    fab = srcs["de"][w.C + "c001"]
    srcs["de"][w.C + "c001"] = w.view(
        w.C + "c001", tuple(s for s in fab.subscriptions if s.id != w.S + "d002")
    )
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    target[w.C + "c001"] = w.view(
        w.C + "c001",
        (
            w.sub(
                "aa000000-0000-4000-8000-000000000009",
                w.VISIO,
                3,
                friendly="x [rc:visio]",
                status="disabled",
            ),
        ),
    )
    plan = planner.build_plan(state, w.live_state(state, target=target, sources=srcs), now=w.NOW)
    # Never silently "no longer in the source": a plan error naming the tenant looked in,
    # and nothing at all planned for that customer.
    [err] = [d for d in plan.diagnostics if d.code == "not-in-source"]
    assert err.severity is actions.Severity.ERROR and err.customer_id == w.C + "c001"
    assert w.S + "d002" in err.message and "looked in source tenant(s) de" in err.message
    assert "fabrikam.yaml" in err.message
    assert not [c for c in plan.changes if c.address.customer_id == w.C + "c001"]
    assert plan.customer(w.C + "c001").status is actions.CustomerStatus.SKIPPED  # type: ignore[union-attr]


def test_new_commerce_picks_that_keep_billing_name_the_alternatives():
    """Rule 4: suspension or auto-renew off leaves the source billing; the plan says what
    would not (a transfer always; a cancellation while the window is open)."""
    young = strategy.resolve(B.SUSPENDED, NCE_NEW, model.Policy(), w.NOW)
    assert young.strategy is S.SUSPEND
    assert "alternatives: cancel before" in young.why
    assert "becomes: transferred" in young.why
    reprovision = model.Policy(move_by=model.MoveBy.REPROVISION)
    old = strategy.resolve(B.AUTO, NCE_OLD, reprovision, w.NOW)
    assert old.strategy is S.EXPIRE
    assert "cancel before" not in old.why  # the window is closed: not an alternative
    assert "alternatives: a partner-to-partner transfer" in old.why


@pytest.mark.parametrize(
    ("becomes", "sub"),
    [(B.AUTO, LEGACY), (B.AUTO, NCE_NEW), (B.TRANSFERRED, NCE_OLD), (B.KEPT, NCE_OLD)],
)
def test_no_alternatives_where_nothing_keeps_billing_by_our_choice(becomes, sub):
    assert "alternatives" not in strategy.resolve(becomes, sub, model.Policy(), w.NOW).why


@pytest.mark.parametrize("picked", [S.SUSPEND, S.CANCEL, S.EXPIRE])
def test_term_end_says_the_renewal_stops_when_the_source_is_acted_on(picked):
    ends = [d for d in billing.deadlines(NCE_OLD, picked, w.NOW) if d.kind == "term-end"]
    assert ends and "stops its renewal" in ends[0].note
    kept = [d for d in billing.deadlines(NCE_OLD, S.KEEP, w.NOW) if d.kind == "term-end"]
    assert kept[0].note == "the term renews"


def test_target_shrunk_below_sources_already_suspended_is_called_out():
    """Rule 1's spirit after the fact: suspended sources no longer serve users, so a target
    smaller than them leaves the customer short of licences; the plan says so."""
    state = w.desired()
    tailspin = next(c for c in state.customers if c.name == "Tailspin Toys SAS")
    subs = tuple(
        dataclasses.replace(s, quantity=25) if s.key == "exchange" else s
        for s in tailspin.subscriptions
    )
    state = _with(state, "Tailspin Toys SAS", subscriptions=subs)
    target = w.sub(
        "7a7a0000-0000-4000-8000-000000000001",
        "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G",
        30,
        age_days=3,
        friendly=markers.with_marker("Exchange Online (Plan 1)", "exchange"),
    )
    sources = w.source_views()
    cid = tailspin.tenant_id
    sources["fr"][cid] = w.view(
        cid,
        tuple(
            dataclasses.replace(s, status=model.SubscriptionStatus.SUSPENDED)
            if s.id.endswith(("f003", "f004"))
            else s
            for s in sources["fr"][cid].subscriptions
        ),
    )
    live = w.live_state(state, target={cid: w.view(cid, (target,))}, sources=sources)
    plan = planner.build_plan(state, live, now=w.NOW)
    [short] = [d for d in plan.diagnostics if d.code == "seats-below-sources"]
    assert "25 seats but its sources had 30" in short.message
    assert "5 licences short" in short.message


def test_a_term_end_in_the_past_is_neither_a_deadline_nor_a_count_of_days():
    stale = dataclasses.replace(NCE_OLD, commitment_end_date=w.NOW - timedelta(days=30))
    assert [d.kind for d in billing.deadlines(stale, S.SUSPEND, w.NOW)] == []
    overlap = billing.overlap(S.SUSPEND, stale, w.NOW, w.NOW)
    assert overlap.days is None
    assert "has passed" in overlap.note
