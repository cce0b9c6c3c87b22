"""Invariants of the planner over generated worlds and manifests (hypothesis).

Each generated world has a target and two sources, a few customers with desired target
subscriptions replacing source subscriptions, and live state with every combination that
matters: invitations pending or accepted, unknown reads, target subscriptions marked,
unmarked, duplicated, suspended, pending or deleted, NCE and legacy sources inside and
outside their cancellation windows, protect flags and every ``becomes``. Some customers are
held in both sources: their replaced subscriptions are split between ``de`` and ``fr``, each
naming its own tenant.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import model
from reconciler.planning import actions, fingerprint, markers, matching, planfile, planner

A = actions.Action
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORIGIN = model.Origin("gen.yaml", 1)
OFFERS = (
    "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R",
    "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G",
    "796B6B5F-613C-4E24-A17C-EBA730D49C02",
)
SOURCE_OFFERS = (*OFFERS, "CFQ7TTC0LH18:0001:CFQ7TTC0K971", "MS-AZR-0145P")
AZURE_PLAN = "DZH318Z0BPS6:0001:DZH318Z0BML6"
#: What an Azure hand-off names: an Azure plan (mostly) or legacy Azure.
AZURE_OFFERS = (AZURE_PLAN, AZURE_PLAN, "MS-AZR-0145P")
TARGET = model.Tenant("central", "0f6a1b8e-0000-4000-8000-000000000001", "IE", model.Role.TARGET)
SOURCES = (
    model.Tenant("de", "0f6a1b8e-0000-4000-8000-0000000000de", "DE", model.Role.SOURCE),
    model.Tenant("fr", "0f6a1b8e-0000-4000-8000-0000000000f2", "FR", model.Role.SOURCE),
)
RARELY = st.sampled_from([False] * 5 + [True])
CUTS = (A.SUSPEND, A.CANCEL, A.DISABLE_AUTO_RENEW)


def guid(prefix: str, n: int) -> str:
    return f"{prefix}000000-0000-4000-8000-{n:012x}"


def live_sub(draw, sid: str, offer: str, *, friendly: str = "") -> model.LiveSubscription:
    billing = "usage" if offer.startswith("MS-AZR") else "license"
    commerce = model.classify_offer(offer, billing_type=billing)
    age = draw(st.integers(0, 500))
    created = NOW - timedelta(days=age)
    nce = commerce is model.CommerceModel.NCE_LICENSE
    window = created + timedelta(days=7)
    return model.LiveSubscription(
        id=sid,
        offer_id=offer,
        offer_name=offer,
        friendly_name=friendly,
        quantity=draw(st.integers(1, 40)),
        status=draw(
            st.sampled_from([model.SubscriptionStatus.ACTIVE] * 6 + list(model.SubscriptionStatus))
        ),
        commerce=commerce,
        billing_cycle="monthly",
        term_duration="P1Y" if nce else None,
        auto_renew=draw(st.booleans()),
        creation_date=created,
        commitment_end_date=created + timedelta(days=365) if commerce.is_license else None,
        cancellation_allowed_until=window if nce else None,
        refundable=(model.RefundableBatch(draw(st.integers(0, 10)), window),) if nce else (),
        order_id=None,
        etag=None,
        # Reservations and marketplace items cannot transfer (planning.eligibility).
        product_type=draw(
            st.sampled_from([None] * 6 + ["OnlineServicesNCE", "SaaS", "Azure/Reservation"])
        )
        if nce
        else None,
    )


@st.composite
def requests(
    draw, source: str, source_ids: list[str], counter
) -> tuple[model.LiveTransfer, ...] | None:
    """The target's transfer requests for a customer: unread (rarely), none, or a few from
    its source partner (sometimes another) in any status, with or without line items."""
    if draw(RARELY):
        return None
    found = []
    own = next(t.tenant_id for t in SOURCES if t.name == source)
    for _ in range(draw(st.integers(0, 2))):
        created = NOW - timedelta(days=draw(st.integers(0, 60)))
        picked = draw(st.lists(st.sampled_from(source_ids), unique=True)) if source_ids else []
        status = draw(st.sampled_from(list(model.TransferStatus)))
        lines = tuple(
            model.LiveTransferLine(
                sid,
                guid("aa000000", next(counter))
                if status is model.TransferStatus.COMPLETED
                else None,
            )
            for sid in picked
        )
        found.append(
            model.LiveTransfer(
                id=guid("77000000", next(counter)),
                status=status,
                source_partner_id=draw(st.sampled_from([own, own, SOURCES[0].tenant_id])),
                target_partner_id=TARGET.tenant_id,
                created_at=created,
                expires_at=created + timedelta(days=30),
                lines=lines,
            )
        )
    return tuple(found)


@st.composite
def worlds(draw) -> tuple[model.DesiredState, model.LiveState]:
    counter = iter(range(1, 10_000))
    customers, src_views, tgt_views = [], {"de": {}, "fr": {}}, {}
    for ci in range(draw(st.integers(1, 4))):
        tid = guid("3f2c6d55", ci + 1)
        source = draw(st.sampled_from(["de", "fr"]))
        # Held in both sources (sometimes): each subscription is in one of them.
        held_in = [source, "fr" if source == "de" else "de"] if draw(st.booleans()) else [source]
        source_subs: dict[str, list[model.LiveSubscription]] = {n: [] for n in held_in}
        desired = []
        for ki in range(draw(st.integers(0, 3))):
            replaces = []
            for _ in range(draw(st.integers(0, 2))):
                sid = guid("5b1e0a40", next(counter))
                where = draw(st.sampled_from(held_in))
                source_subs[where].append(live_sub(draw, sid, draw(st.sampled_from(SOURCE_OFFERS))))
                becomes = draw(st.sampled_from(list(model.SourceStrategy)))
                named = where if where != source or draw(st.booleans()) else None
                replaces.append(model.Replacement(sid, becomes, ORIGIN, source=named))
            offer = draw(st.sampled_from(OFFERS))
            desired.append(
                model.DesiredSubscription(
                    key=f"k{ki}",
                    offer_id=offer,
                    commerce=model.classify_offer(offer),
                    quantity=draw(st.integers(1, 60)),
                    billing_cycle="monthly",
                    term_duration=None,
                    friendly_name=None,
                    replaces=tuple(replaces),
                    protect=draw(RARELY),
                    origin=ORIGIN,
                )
            )
        for _ in range(draw(st.integers(0, 2))):  # unnamed source subscriptions
            source_subs[draw(st.sampled_from(held_in))].append(
                live_sub(
                    draw, guid("6b1e0a40", next(counter)), draw(st.sampled_from(SOURCE_OFFERS))
                )
            )
        handoffs = []
        for ai in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):  # Azure hand-offs
            sid = guid("5b1e0a40", next(counter))
            where = draw(st.sampled_from(held_in))
            source_subs[where].append(live_sub(draw, sid, draw(st.sampled_from(AZURE_OFFERS))))
            named = where if where != source or draw(st.booleans()) else None
            handoffs.append(model.AzureHandoff(f"az{ai}", sid, draw(RARELY), ORIGIN, named))
        customers.append(
            model.DesiredCustomer(
                tid,
                f"Customer {ci}",
                f"c{ci}.example",
                source,
                draw(RARELY),
                tuple(desired),
                tuple(handoffs),
                ORIGIN,
            )
        )
        for name in customers[-1].sources:  # those its replacements name, and its own
            statuses = [model.ReadStatus.OK] * 10 + [model.ReadStatus.UNKNOWN]
            src_status = draw(st.sampled_from(statuses))
            src_views[name][tid] = model.CustomerView(
                tid,
                src_status,
                subscriptions=tuple(source_subs.get(name, ()))
                if src_status is model.ReadStatus.OK
                else (),
            )
        tgt_status = draw(st.sampled_from([model.ReadStatus.OK] * 4 + list(model.ReadStatus)))
        target_subs = []
        if tgt_status is model.ReadStatus.OK:
            for _ in range(draw(st.integers(0, 4))):
                key = draw(st.sampled_from([None, "k0", "k1", "k2", "gone"]))
                friendly = f"x {markers.marker(key)}" if key else "x"
                target_subs.append(
                    live_sub(
                        draw,
                        guid("aa000000", next(counter)),
                        draw(st.sampled_from(OFFERS)),
                        friendly=friendly,
                    )
                )
            if draw(st.sampled_from([False, False, True])):  # the customer's Azure plan
                target_subs.append(live_sub(draw, guid("aa000000", next(counter)), AZURE_PLAN))
        ids = [s.id for subs in source_subs.values() for s in subs]
        transfers = draw(requests(source, ids, counter))
        tgt_views[tid] = model.CustomerView(
            tid,
            tgt_status,
            subscriptions=tuple(target_subs),
            transfers=transfers if tgt_status is model.ReadStatus.OK else None,
        )
    # The target sometimes in another Partner Center region (US) or an unmapped one (JP).
    target = dataclasses.replace(TARGET, country=draw(st.sampled_from(["IE"] * 4 + ["US", "JP"])))
    cons = model.Consolidation(
        "gen",
        target,
        SOURCES,
        model.Policy(
            max_suspensions_per_apply=draw(st.integers(0, 6)),
            max_cancellations_per_apply=draw(st.integers(0, 2)),
            max_customers_per_apply=draw(st.integers(1, 5)),
            nce_strategy=draw(st.sampled_from(list(model.NceStrategy))),
            move_by=draw(st.sampled_from(list(model.MoveBy))),
        ),
        ORIGIN,
    )
    tenants = {"central": model.TenantView(target, MappingProxyType(tgt_views))}
    for t in SOURCES:
        tenants[t.name] = model.TenantView(t, MappingProxyType(src_views[t.name]))
    live = model.LiveState(NOW, MappingProxyType(tenants), "https://invite.example/x")
    return model.DesiredState(cons, tuple(customers), "sha256:x"), live


def build(state: model.DesiredState, live: model.LiveState) -> actions.Plan:
    return planner.build_plan(state, live, now=NOW, tool_version="test")


def _closure(
    plan_changes: dict[str, actions.Change], change: actions.Change
) -> list[actions.Change]:
    seen: dict[str, actions.Change] = {}
    stack = list(change.depends_on)
    while stack:
        cid = stack.pop()
        if cid in seen or cid not in plan_changes:
            continue
        seen[cid] = plan_changes[cid]
        stack.extend(plan_changes[cid].depends_on)
    return list(seen.values())


def _target_after(
    state: model.DesiredState,
    live: model.LiveState,
    cust: model.DesiredCustomer,
    key: str,
    steps: list[actions.Change],
) -> tuple[bool, int]:
    """(active, seats) of the target for ``key`` after the given steps succeed."""
    view = live.tenants["central"].customers[cust.tenant_id]
    found, _, _ = matching.match_licenses(cust.subscriptions, view.subscriptions)
    m = found.get(key)
    active, seats = False, 0
    if m is not None and m.live is not None:
        active, seats = m.live.status is model.SubscriptionStatus.ACTIVE, m.live.quantity
    for s in steps:
        if s.address.key != key:
            continue
        if s.action is A.CREATE:
            active, seats = True, int(s.after["quantity"])
        elif s.action is A.RESIZE:
            seats = int(s.after["quantity"])
        elif s.action is A.REACTIVATE or (s.action is A.AWAIT_ACTIVATION and not s.after):
            active = True
        elif s.action in (A.ACCEPT_TRANSFER, A.ACCEPT):
            # The source's seats arrive with the transfer (requested now or pending already),
            # accepted by a person (gate) or by apply with the source's credentials.
            active, seats = True, seats + int(s.before["quantity"])
        elif s.action is A.AWAIT_ACTIVATION and s.after:  # a completed transfer's arrival
            active, seats = True, seats + int(s.after["quantity"])
    return active, seats


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_no_source_is_cut_unless_its_target_will_be_active_with_enough_seats(world):
    state, live = world
    plan = build(state, live)
    everything = {c.id: c for c in (*plan.changes, *plan.deferred)}
    by_cust = {c.tenant_id: c for c in state.customers}
    for change in everything.values():
        if change.action not in (*CUTS, A.TRANSFER):
            continue
        cust = by_cust[change.address.customer_id]
        handoff = next((h for h in cust.azure if h.key == change.address.key), None)
        if handoff is not None:
            # Azure is never cut; only an Azure plan moves by transfer, from where it is named.
            assert change.action is A.TRANSFER, change
            assert not (cust.protect or handoff.protect), "a protected Azure plan was moved"
            assert change.address.tenant == cust.source_of(handoff)
            src = (
                live.tenants[change.address.tenant]
                .customers[cust.tenant_id]
                .subscription(handoff.source_subscription_id)
            )
            assert src is not None and src.commerce is model.CommerceModel.AZURE_PLAN
            continue
        ds = next(d for d in cust.subscriptions if d.key == change.address.key)
        assert not (cust.protect or ds.protect), "a protected subscription was changed"
        # Handled in the source tenant its replacement names, where it was read.
        r = next(r for r in ds.replaces if r.subscription_id == change.address.subscription_id)
        assert change.address.tenant == cust.source_of(r)
        src = (
            live.tenants[change.address.tenant]
            .customers[cust.tenant_id]
            .subscription(change.address.subscription_id)
        )
        assert src is not None and src.commerce.is_license
        if change.action is A.TRANSFER:
            continue
        cut_ids = {
            (c.address.tenant, c.address.subscription_id)
            for c in everything.values()
            if c.action in CUTS
            and c.address.key == ds.key
            and c.address.customer_id == cust.tenant_id
        }
        # Seats summed across sources where the entry merges several.
        required = sum(
            live.tenants[t].customers[cust.tenant_id].subscription(s).quantity for t, s in cut_ids
        )
        active, seats = _target_after(state, live, cust, ds.key, _closure(everything, change))
        assert active and seats >= required, (change, active, seats, required)


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_never_creates_a_subscription_that_exists_under_the_matching_rule(world):
    state, live = world
    plan = build(state, live)
    by_cust = {c.tenant_id: c for c in state.customers}
    for change in (*plan.changes, *plan.deferred):
        if change.action is not A.CREATE:
            continue
        cust = by_cust[change.address.customer_id]
        view = live.tenants["central"].customers[cust.tenant_id]
        keys = {d.key for d in cust.subscriptions}
        offer = change.after["offer_id"]
        if change.address.key in {h.key for h in cust.azure}:
            # The customer's Azure plan, bought only when the target holds none (not gone).
            assert offer == "DZH318Z0BPS6:0001"
            assert not [
                s
                for s in view.subscriptions
                if s.commerce is model.CommerceModel.AZURE_PLAN and s.status not in matching.GONE
            ]
            continue
        for s in view.subscriptions:
            if s.status in matching.GONE:
                continue
            marker = markers.parse_marker(s.friendly_name)
            assert marker != change.address.key, "created although a marked subscription exists"
            if s.offer_id == offer:
                assert marker in keys, "created although an adoptable subscription exists"


@settings(max_examples=100, deadline=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_planning_is_deterministic_whatever_the_input_order(world, rnd):
    state, live = world
    shuffled = list(state.customers)
    rnd.shuffle(shuffled)
    again = dataclasses.replace(state, customers=tuple(shuffled))
    first = planfile.to_dict(build(state, live))
    assert first == planfile.to_dict(build(state, live))
    assert first == planfile.to_dict(build(again, live))


def _shuffled_live(live: model.LiveState, rnd) -> model.LiveState:
    tenants = {}
    for name in reversed(list(live.tenants)):
        view = live.tenants[name]
        customers = {}
        for tid in reversed(list(view.customers)):
            cv = view.customers[tid]
            subs = list(cv.subscriptions)
            rnd.shuffle(subs)
            customers[tid] = dataclasses.replace(cv, subscriptions=tuple(subs))
        tenants[name] = model.TenantView(view.tenant, MappingProxyType(customers))
    return model.LiveState(live.read_at, MappingProxyType(tenants), live.invitation_url)


@settings(max_examples=100, deadline=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_the_order_partner_center_lists_things_in_does_not_matter(world, rnd):
    state, live = world
    assert planfile.to_dict(build(state, live)) == planfile.to_dict(
        build(state, _shuffled_live(live, rnd))
    )


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_one_apply_stays_within_the_policy_caps(world):
    state, live = world
    plan = build(state, live)
    policy = state.consolidation.policy
    todo = [c for c in plan.changes if c.applicable]
    assert sum(1 for c in todo if c.action is A.SUSPEND) <= policy.max_suspensions_per_apply
    assert sum(1 for c in todo if c.action is A.CANCEL) <= policy.max_cancellations_per_apply
    assert len({c.address.customer_id for c in todo}) <= policy.max_customers_per_apply
    kept = {c.id for c in plan.changes}
    assert all(not set(c.depends_on) & {d.id for d in plan.deferred} for c in plan.changes)
    assert not kept & {d.id for d in plan.deferred}


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_unreadable_customers_get_no_change(world):
    state, live = world
    plan = build(state, live)
    unknown = {
        tid
        for view in live.tenants.values()
        for tid, cv in view.customers.items()
        if cv.status is model.ReadStatus.UNKNOWN
    }
    touched = {c.address.customer_id for c in (*plan.changes, *plan.deferred)}
    assert not unknown & touched
    for tid in unknown:
        entry = plan.customer(tid)
        if entry is not None:
            assert entry.status is actions.CustomerStatus.SKIPPED


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_order_respects_dependencies_and_the_document_round_trips(world):
    state, live = world
    plan = build(state, live)
    seen: set[str] = set()
    for c in plan.changes:
        assert set(c.depends_on) <= seen
        assert all(b in seen for b in c.blocked_by)
        seen.add(c.id)
    doc = planfile.to_dict(plan)
    assert planfile.to_dict(planfile.from_dict(doc)) == doc
    assert len({c.id for c in (*plan.changes, *plan.deferred)}) == len(plan.changes) + len(
        plan.deferred
    )


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_no_plan_requests_a_transfer_while_one_is_open_or_unknown(world):
    state, live = world
    plan = build(state, live)
    by_cust = {c.tenant_id: c for c in state.customers}
    sources = {t.name: t.tenant_id for t in SOURCES}
    for change in (*plan.changes, *plan.deferred):
        if change.action is not A.TRANSFER:
            continue
        cust = by_cust[change.address.customer_id]
        target = live.tenants["central"].customers[cust.tenant_id]
        if target.status is model.ReadStatus.OK:
            # Requests were read (not unknown) and none from this source (the tenant holding
            # the subscription, for a customer held in several) is still open.
            assert target.transfers is not None
            assert not [
                t
                for t in target.transfers
                if t.is_open(NOW) and t.source_partner_id == sources[change.address.tenant]
            ]
        else:  # no relationship yet: the request waits behind the invitation gate
            assert change.blocked_by


def _may_move_by_transfer(
    cust: model.DesiredCustomer, live: model.LiveState, policy: model.Policy
) -> bool:
    """A pair says transferred, or says auto for a new-commerce (or unread) source under a
    policy preferring transfers: only a legacy-only customer cannot move by transfer."""
    for h in cust.azure:  # an Azure plan (or one not found) moves by transfer too
        view = live.tenants[cust.source_of(h)].customers.get(cust.tenant_id)
        found = view.subscription(h.source_subscription_id) if view is not None else None
        plan = found is None or found.commerce is model.CommerceModel.AZURE_PLAN
        if policy.prefers_transfer and plan:
            return True
    for ds in cust.subscriptions:
        # An entry that merges several sources, or buys legacy, is re-provisioned whatever
        # the sources are (docs/manifests.md, "Strategies").
        single_nce = ds.commerce is model.CommerceModel.NCE_LICENSE and len(ds.replaces) == 1
        for r in ds.replaces:
            if r.becomes is model.SourceStrategy.TRANSFERRED:
                return True
            view = live.tenants[cust.source_of(r)].customers.get(cust.tenant_id)
            found = view.subscription(r.subscription_id) if view is not None else None
            nce = found is None or found.commerce is model.CommerceModel.NCE_LICENSE
            auto = r.becomes is model.SourceStrategy.AUTO
            if auto and policy.prefers_transfer and nce and single_nce:
                return True
    return False


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_a_customer_wanting_a_transfer_with_unread_requests_gets_no_change(world):
    state, live = world
    plan = build(state, live)
    policy = state.consolidation.policy
    for cust in state.customers:
        target = live.tenants["central"].customers[cust.tenant_id]
        if (
            target.status is model.ReadStatus.OK
            and target.transfers is None
            and planner.transfer_customers([cust], policy)
            and _may_move_by_transfer(cust, live, policy)
        ):
            assert not [c for c in plan.changes if c.address.customer_id == cust.tenant_id]
            entry = plan.customer(cust.tenant_id)
            assert entry is not None and entry.status is actions.CustomerStatus.SKIPPED


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_every_source_change_is_in_the_tenant_its_manifest_names(world):
    state, live = world
    plan = build(state, live)
    by_cust = {c.tenant_id: c for c in state.customers}
    for change in (*plan.changes, *plan.deferred):
        a = change.address
        if a.tenant == "central" or a.subscription_id is None:
            continue
        cust = by_cust[a.customer_id]
        named = [
            cust.source_of(r)
            for ds in cust.subscriptions
            for r in ds.replaces
            if r.subscription_id == a.subscription_id
        ] + [cust.source_of(h) for h in cust.azure if h.source_subscription_id == a.subscription_id]
        assert named == [a.tenant], (change, named)
        view = live.tenants[a.tenant].customers[a.customer_id]
        assert view.subscription(a.subscription_id) is not None


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_fingerprints_cover_every_source_a_customer_is_held_in(world):
    state, live = world
    plan = build(state, live)
    for cust in state.customers:
        entry = plan.customer(cust.tenant_id)
        assert entry is not None and entry.source_tenants == cust.sources
        for name in cust.sources:
            view = live.tenants[name].customers[cust.tenant_id]
            if not view.subscriptions:
                continue
            first = view.subscriptions[0]
            moved = dataclasses.replace(first, quantity=first.quantity + 1)
            changed = dataclasses.replace(view, subscriptions=(moved, *view.subscriptions[1:]))
            tenant = live.tenants[name]
            customers = {**tenant.customers, cust.tenant_id: changed}
            tenants = {
                **live.tenants,
                name: model.TenantView(tenant.tenant, MappingProxyType(customers)),
            }
            after = model.LiveState(live.read_at, MappingProxyType(tenants), live.invitation_url)
            assert entry in fingerprint.moved_customers(plan, after), (cust.tenant_id, name)
