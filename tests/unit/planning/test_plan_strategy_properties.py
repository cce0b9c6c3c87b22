"""Invariants of the strategy per pair over generated worlds (hypothesis; issue 12 point 1).

- A customer whose subscriptions can all move by transfer gets no purchase, no suspension, no
  cancellation and no auto-renew change: only transfers (and their gates).
- Every source subscription of a planned customer (Azure hand-offs included) gets exactly one
  strategy with a reason, and the route taken is never among those it rejected.
- An Azure plan moves by transfer only when eligible (an Azure plan, under a policy preferring
  transfers, no active legacy Azure in its source, no suspended Azure plan in the target), with
  the target's Azure plan active or made active first (bought at most once); Azure is never
  suspended or cancelled; everything else Azure goes to Microsoft support.
- Rule 1 (never cut a source before its target is active with the seats) holds for every
  fallback: ``test_plan_properties`` checks it over worlds whose target is sometimes in another
  region and whose sources are sometimes reservations or marketplace items, under both
  ``moveBy`` values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import livesubs
import test_plan_properties as props
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import model
from reconciler.planning import actions, planner

A = actions.Action
R = actions.Route
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORIGIN = model.Origin("gen.yaml", 1)
NCE = ("CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R", "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G")


def nce_sub(sid: str, offer: str, seats: int, age: int) -> model.LiveSubscription:
    created = NOW - timedelta(days=age)
    return livesubs.nce_license(sid, offer, seats, created, product_type="OnlineServicesNCE")


@st.composite
def transferable(draw) -> tuple[model.DesiredState, model.LiveState]:
    """Customers holding only active new-commerce licenses, each entry replacing one of them
    with the same product (any availability, any seats), invitation accepted or not, in
    sources of the target's region, under ``moveBy: transfer-first`` (any
    ``nceSourceStrategy``) or ``nceSourceStrategy: transfer``."""
    counter = iter(range(1, 10_000))
    customers, src_views, tgt_views = [], {"de": {}, "fr": {}}, {}
    for ci in range(draw(st.integers(1, 3))):
        tid = props.guid("3f2c6d55", ci + 1)
        source = draw(st.sampled_from(["de", "fr"]))
        subs: dict[str, list[model.LiveSubscription]] = {"de": [], "fr": []}
        desired = []
        for ki in range(draw(st.integers(1, 4))):
            sid = props.guid("5b1e0a40", next(counter))
            where = draw(st.sampled_from(["de", "fr"]))
            offer = draw(st.sampled_from(NCE))
            seats = draw(st.integers(1, 40))
            subs[where].append(nce_sub(sid, offer, seats, draw(st.integers(0, 500))))
            becomes = draw(
                st.sampled_from(
                    [model.SourceStrategy.AUTO] * 3 + [model.SourceStrategy.TRANSFERRED]
                )
            )
            replaced = model.Replacement(sid, becomes, ORIGIN, source=where)
            desired.append(
                model.DesiredSubscription(
                    key=f"k{ki}",
                    # The same product: the catalog reissues availability ids.
                    offer_id=offer.rsplit(":", 1)[0] + ":CFQ7TTC0ZZZZ",
                    commerce=model.CommerceModel.NCE_LICENSE,
                    quantity=draw(st.integers(1, 60)),
                    billing_cycle="monthly",
                    term_duration="P1Y",
                    friendly_name=None,
                    replaces=(replaced,),
                    protect=False,
                    origin=ORIGIN,
                )
            )
        cust = model.DesiredCustomer(
            tid, f"Customer {ci}", f"c{ci}.example", source, False, tuple(desired), (), ORIGIN
        )
        customers.append(cust)
        for name in cust.sources:
            src_views[name][tid] = model.CustomerView(
                tid, model.ReadStatus.OK, subscriptions=tuple(subs[name])
            )
        accepted = draw(st.booleans())
        tgt_views[tid] = model.CustomerView(
            tid,
            model.ReadStatus.OK if accepted else model.ReadStatus.NO_RELATIONSHIP,
            transfers=() if accepted else None,
        )
    policy = draw(
        st.sampled_from(
            [
                model.Policy(nce_strategy=n, move_by=model.MoveBy.TRANSFER_FIRST)
                for n in model.NceStrategy
            ]
            + [
                model.Policy(
                    nce_strategy=model.NceStrategy.TRANSFER, move_by=model.MoveBy.REPROVISION
                )
            ]
        )
    )
    cons = model.Consolidation("gen", props.TARGET, props.SOURCES, policy, ORIGIN)
    tenants = {"central": model.TenantView(props.TARGET, MappingProxyType(tgt_views))}
    for t in props.SOURCES:
        tenants[t.name] = model.TenantView(t, MappingProxyType(src_views[t.name]))
    live = model.LiveState(NOW, MappingProxyType(tenants), "https://invite.example/x")
    return model.DesiredState(cons, tuple(customers), "sha256:x"), live


@settings(max_examples=150, deadline=None)
@given(transferable())
def test_a_customer_that_can_move_everything_by_transfer_buys_and_cuts_nothing(world):
    state, live = world
    plan = planner.build_plan(state, live, now=NOW, tool_version="test")
    assert not plan.errored
    done = {A.CREATE, A.SUSPEND, A.CANCEL, A.DISABLE_AUTO_RENEW, A.RESIZE}
    assert not [c for c in (*plan.changes, *plan.deferred) if c.action in done]
    pairs = {
        (r.source, r.subscription_id)
        for c in state.customers
        for d in c.subscriptions
        for r in d.replaces
    }
    transfers = {
        (c.address.tenant, c.address.subscription_id)
        for c in plan.changes
        if c.action is A.TRANSFER
    }
    assert transfers == pairs
    assert {(p.tenant, p.subscription_id) for p in plan.strategies} == pairs
    assert all(p.route is R.TRANSFER and p.action is None for p in plan.strategies)


@settings(max_examples=150, deadline=None)
@given(props.worlds())
def test_every_source_subscription_of_a_pair_gets_exactly_one_strategy_with_a_reason(world):
    state, live = world
    plan = planner.build_plan(state, live, now=NOW, tool_version="test")
    planned = {
        c.tenant_id for c in plan.customers if c.status is not actions.CustomerStatus.SKIPPED
    }
    wanted = [
        (c.tenant_id, c.source_of(r), r.subscription_id)
        for c in state.customers
        if c.tenant_id in planned
        for d in c.subscriptions
        for r in d.replaces
    ] + [  # every Azure hand-off too (the generator names only subscriptions that exist)
        (c.tenant_id, c.source_of(h), h.source_subscription_id)
        for c in state.customers
        if c.tenant_id in planned
        for h in c.azure
    ]
    got = [(p.customer_id, p.tenant, p.subscription_id) for p in plan.strategies]
    assert sorted(got) == sorted(wanted)
    for p in plan.strategies:
        assert p.why.strip()
        assert p.route not in {r.route for r in p.rejected}
        assert all(r.why.strip() for r in p.rejected)
        # The route and the changes agree: a transfer is never bought, a re-provision never
        # requested as a transfer.
        changes = [
            c
            for c in plan.changes
            if c.address.customer_id == p.customer_id
            and c.address.subscription_id == p.subscription_id
        ]
        if p.route is not R.TRANSFER:
            assert not [c for c in changes if c.action is A.TRANSFER]
        else:
            assert not [
                c for c in changes if c.action in (A.SUSPEND, A.CANCEL, A.DISABLE_AUTO_RENEW)
            ]


@settings(max_examples=150, deadline=None)
@given(props.worlds())
def test_an_azure_plan_moves_by_transfer_only_when_eligible_and_is_never_cut(world):
    state, live = world
    plan = planner.build_plan(state, live, now=NOW, tool_version="test")
    everything = {c.id: c for c in (*plan.changes, *plan.deferred)}
    policy = state.consolidation.policy
    for cust in state.customers:
        keys = {h.key: h for h in cust.azure}
        mine = [c for c in everything.values() if c.address.customer_id == cust.tenant_id]
        assert not [
            c
            for c in mine
            if c.address.key in keys and c.action in (A.SUSPEND, A.CANCEL, A.DISABLE_AUTO_RENEW)
        ], "an Azure subscription was cut"
        buys = [c for c in mine if c.action is A.CREATE and c.address.key in keys]
        assert len(buys) <= 1, "the customer's Azure plan is bought once"
        target = live.tenants["central"].customers[cust.tenant_id]
        plans = [s for s in target.subscriptions if s.commerce is model.CommerceModel.AZURE_PLAN]
        for change in mine:
            h = keys.get(change.address.key or "")
            if h is None or change.action is not A.TRANSFER:
                continue
            view = live.tenants[change.address.tenant].customers[cust.tenant_id]
            src = view.subscription(h.source_subscription_id)
            assert src is not None and src.commerce is model.CommerceModel.AZURE_PLAN
            assert policy.prefers_transfer
            assert not [
                s
                for s in view.subscriptions
                if s.commerce is model.CommerceModel.LEGACY_AZURE
                and s.status is model.SubscriptionStatus.ACTIVE
            ], "900131: no Azure plan transfer beside active legacy Azure"
            active = [p for p in plans if p.status is model.SubscriptionStatus.ACTIVE]
            closure = props._closure(everything, change)
            ready = [
                c
                for c in closure
                if c.address.key in keys and c.action in (A.CREATE, A.AWAIT_ACTIVATION)
            ]
            assert active or ready, "an Azure plan transfer without the target's Azure plan"
            # Every transfer request from that source waits for the same Azure plan.
            for other in mine:
                if other.action is A.TRANSFER and other.address.tenant == change.address.tenant:
                    assert {c.id for c in ready} <= {
                        c.id for c in props._closure(everything, other)
                    } | {other.id}
        for p in plan.strategies:
            if p.customer_id != cust.tenant_id or p.key not in keys:
                continue
            assert p.route in (R.TRANSFER, R.SUPPORT)
            if p.commerce == model.CommerceModel.LEGACY_AZURE.value:
                assert p.route is R.SUPPORT
