"""Planning one customer: check that its state is known in every tenant, gate on the
reseller invitation, match target subscriptions, then plan targets, sources and Azure
hand-offs, and report drift and unmanaged subscriptions.

Rule 3 lives here: a customer whose view is unknown in any tenant (or was not read at all)
gets no change, only an error naming the tenant and the reason; so does a customer whose
manifests ask for a partner-to-partner transfer while its transfer requests in the target are
unknown (a pending request must never look like "none"). Pure: values in, values out.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler import model
from reconciler.planning import actions, azure, eligibility, matching, sources, strategy, targets
from reconciler.planning.builder import Builder
from reconciler.planning.matching import GONE

#: Sort key of live subscriptions (``operator.attrgetter``: no Python call per item).
_BY_ID = operator.attrgetter("id")
A = actions.Action
R = actions.Reason
RS = model.ReadStatus
# Enum members read once or more per customer, as module globals: reading a member off its
# class costs about 80 ns on Python 3.11, a global about 5 ns (speed).
_OK, _UNKNOWN = RS.OK, RS.UNKNOWN
_AUTO, _TRANSFERRED = model.SourceStrategy.AUTO, model.SourceStrategy.TRANSFERRED
_NCE = model.CommerceModel.NCE_LICENSE
_ROUTE_TRANSFER = actions.Route.TRANSFER


@actions.fast_init  # speed: one per customer
@dataclass(frozen=True, slots=True)
class CustomerPlan:
    status: actions.CustomerStatus
    changes: tuple[actions.Change, ...]
    diagnostics: tuple[actions.Diagnostic, ...]
    unmanaged: tuple[actions.Unmanaged, ...]
    azure_ready: bool
    strategies: tuple[actions.PairStrategy, ...] = ()


def _error(customer: model.DesiredCustomer, code: str, message: str) -> CustomerPlan:
    diag = actions.Diagnostic(actions.Severity.ERROR, code, message, customer.tenant_id)
    return CustomerPlan(actions.CustomerStatus.SKIPPED, (), (diag,), (), False)


def _unknown(
    customer: model.DesiredCustomer,
    live: model.LiveState,
    names: list[str],
    seen: dict[str, model.CustomerView],
) -> str:
    """Why the customer's state is not known, or "" when every tenant view is usable; fills
    ``seen`` with the customer's view in each tenant of ``names``."""
    # The views are looked up in the tenants' maps directly (``LiveState.view``,
    # ``TenantView.customer``), each once per customer: with many customers every look-up in
    # those large maps is a cache miss (speed).
    tid = customer.tenant_id.lower()
    tenants = live.tenants
    for name in names:
        view = tenants.get(name)
        cv = view.customers.get(tid) if view is not None else None
        if cv is None:
            return f"{customer.name} ({customer.tenant_id}) was not read in tenant {name}"
        seen[name] = cv
    for name in sorted(tenants):
        cv = seen[name] if name in seen else tenants[name].customers.get(tid)
        if cv is not None and cv.status is _UNKNOWN:
            return (
                f"the state of {customer.name} ({customer.tenant_id}) in tenant {name} is "
                f"unknown ({cv.reason or 'no reason'})"
            )
    return ""


def may_move(ds: model.DesiredSubscription, r: model.Replacement, policy: model.Policy) -> bool:
    """True when the manifests alone allow pair ``r`` of ``ds`` to move by transfer: it says
    ``becomes: transferred``, or ``auto`` under a policy that prefers transfers (``moveBy:
    transfer-first``, the default, or ``nceSourceStrategy: transfer``) for a new-commerce entry
    replacing just this one subscription (``planning.eligibility`` refuses the others)."""
    if r.becomes is model.SourceStrategy.TRANSFERRED:
        return True
    return (
        r.becomes is model.SourceStrategy.AUTO
        and policy.prefers_transfer
        and ds.commerce is model.CommerceModel.NCE_LICENSE
        and len(ds.replaces) == 1
    )


def wants_transfer(customer: model.DesiredCustomer, policy: model.Policy) -> bool:
    """True when a source subscription of ``customer`` may be moved by transfer, so its plan
    depends on the transfer requests read in the target (``may_move``; an Azure hand-off may
    be an Azure plan, which moves by transfer under a policy that prefers transfers)."""
    if customer.azure and policy.prefers_transfer:
        return True
    return any(may_move(ds, r, policy) for ds in customer.subscriptions for r in ds.replaces)


def _may_transfer(
    customer: model.DesiredCustomer, policy: model.Policy, seen: dict[str, model.CustomerView]
) -> bool:
    """``wants_transfer`` narrowed by the source subscriptions as read: ``auto`` pairs move by
    transfer only when new commerce, Azure hand-offs only when an Azure plan (one not found
    in its source counts, to be safe)."""
    if policy.prefers_transfer:
        for h in customer.azure:
            view = seen.get(customer.source_of(h))
            live = view.subscription(h.source_subscription_id) if view is not None else None
            if live is None or live.commerce is model.CommerceModel.AZURE_PLAN:
                return True
    for ds in customer.subscriptions:
        for r in ds.replaces:
            if not may_move(ds, r, policy):
                continue
            if r.becomes is model.SourceStrategy.TRANSFERRED:
                return True
            view = seen.get(customer.source_of(r))
            live = view.subscription(r.subscription_id) if view is not None else None
            if live is None or live.commerce is model.CommerceModel.NCE_LICENSE:
                return True
    return False


def _transferred(b: Builder) -> dict[str, str]:
    """Source subscription id -> target subscription id, from completed transfers out of any
    of the customer's source tenants."""
    if not b.transfers:  # speed: none read, none completed
        return {}
    return {
        line.source_subscription_id: line.target_subscription_id
        for tenant in b.sources
        for t in reversed(b.transfers_from_source(tenant))
        if t.status is model.TransferStatus.COMPLETED
        for line in t.lines
        if line.target_subscription_id
    }


def matched_targets(
    customer: model.DesiredCustomer,
    consolidation: model.Consolidation,
    target: model.CustomerView,
) -> dict[str, model.LiveSubscription]:
    """The live target subscription serving each of ``customer``'s entries, by exactly the
    rules the plan matches with (pin, transfer, marker, offer, product); an entry that matches
    nothing, or ambiguously, is absent. For reports after the fact (``apply``'s verification)."""
    b = Builder(
        customer,
        consolidation,
        datetime.fromtimestamp(0, UTC),
        model.CustomerView(customer.tenant_id, RS.OK),
        tuple(sorted(target.subscriptions, key=lambda x: x.id)),
        None,
    )
    b.transfers = target.transfers or ()
    found, _, _ = matching.match_licenses(
        customer.subscriptions, b.target_subscriptions, _transferred(b), b.families
    )
    return {key: m.live for key, m in found.items() if m.live is not None}


def _not_a_customer(
    customer: model.DesiredCustomer,
    own: model.CustomerView,
    others: dict[str, model.CustomerView],
) -> str:
    """Why the customer cannot be planned because a source it is declared in has no
    relationship with it, or "" when every one has."""
    who = f"{customer.name} ({customer.tenant_id})"
    if own.status is RS.NO_RELATIONSHIP:
        return (
            f"{who} is not a customer of source tenant {customer.source}; check "
            f"customer.source at {customer.origin}"
        )
    for tenant, view in sorted(others.items()):
        if view.status is RS.NO_RELATIONSHIP:
            where = sorted({str(o) for o in _declared_in(customer, tenant)})
            return (
                f"{who} is not a customer of source tenant {tenant}, which "
                f"{', '.join(where)} names as the source of its subscription; check that "
                "`source:`"
            )
    return ""


def _declared_in(customer: model.DesiredCustomer, tenant: str) -> list[model.Origin]:
    """Where the customer's replaced subscriptions and hand-offs held in ``tenant`` are."""
    found = [
        r.origin
        for ds in customer.subscriptions
        for r in ds.replaces
        if customer.source_of(r) == tenant
    ]
    return found + [h.origin for h in customer.azure if customer.source_of(h) == tenant]


def _missing_sources(b: Builder, lives: dict[int, model.LiveSubscription]) -> str:
    """Replaced subscriptions that are not in the source tenant they are declared in, named
    with the sources looked in (a typo or a wrong ``source`` must never read as "already
    gone"), or "" when every one is there. Fills ``lives``: ``id()`` of each replacement ->
    its source subscription, so later steps do not look it up again (speed)."""
    c = b.customer
    found = []
    # Speed: each source tenant's subscriptions by id (the Builder's index, built once per
    # customer and tenant), so a look-up per replacement is a dict look-up.
    indexes: dict[str, dict[str, model.LiveSubscription]] = {}
    for ds in c.subscriptions:
        for r in ds.replaces:
            tenant = r.source or c.source  # ``c.source_of(r)``, inline for speed
            index = indexes.get(tenant)
            if index is None:
                index = indexes[tenant] = b.source_index(tenant)
            live = index.get(r.subscription_id.lower())
            if live is not None:
                lives[id(r)] = live
                continue
            elsewhere = [
                n for n in c.sources if b.source_subscription(r.subscription_id, n) is not None
            ]
            hint = (
                f"it is in source tenant {elsewhere[0]}: write `source: {elsewhere[0]}` on it"
                if elsewhere
                else f"looked in source tenant(s) {', '.join(c.sources)}; check the id, or "
                "name the source tenant holding it with `source:`"
            )
            found.append(
                f"{b.who()}: source subscription {r.subscription_id} of {ds.key} (declared "
                f"at {r.origin}) is not in source tenant {tenant}; {hint}"
            )
    return "; ".join(found)


def _every_source(b: Builder) -> model.CustomerView:
    """The customer as seen across all its source tenants: one view holding every source
    subscription (ids are unique across Partner Center), for matching Azure hand-offs."""
    if len(b.sources) == 1:
        return b.source
    views = [b.source_view(n) for n in b.sources]
    subs = [s for v in views if v is not None for s in v.subscriptions]
    return dataclasses.replace(b.source, subscriptions=tuple(subs))


def _invitation(b: Builder) -> None:
    c = b.customer
    partner = b.consolidation.target.display_name or b.target_name
    url = b.invitation_url
    link = (
        url or "[invitation URL: run plan with a delegated sign-in, or copy it from Partner Center]"
    )
    message = (
        f"Hello {c.name} administrator,\n\n{partner} is moving your Microsoft subscriptions to "
        f"its central partner account. Please sign in as a Global Administrator of {c.domain} "
        f"and accept the reseller relationship here:\n{link}\n\nYour services stay as they are "
        "until the new subscriptions are active."
    )
    b.invite_id = b.add(
        A.INVITE,
        b.address(b.target_name),
        R.INVITATION_PENDING,
        f"{c.name} has not accepted the reseller invitation of {b.target_name}",
        gate=actions.Gate(
            "customer", "a Global Admin accepts the reseller invitation", url, message
        ),
    )


def _drift(b: Builder, matched: list[model.LiveSubscription]) -> None:
    """Source subscriptions added back after the migration started (product step 6)."""
    if not matched:
        return
    started = [t.creation_date for t in matched if t.creation_date is not None]
    since = min(started) if started else None
    named = {r.subscription_id for ds in b.customer.subscriptions for r in ds.replaces}
    named |= {h.source_subscription_id for h in b.customer.azure}
    for tenant in b.sources:
        view = b.source_view(tenant)
        for s in sorted(view.subscriptions if view else (), key=_BY_ID):
            if s.id in named or s.status is not model.SubscriptionStatus.ACTIVE:
                continue
            if since is None or s.creation_date is None or s.creation_date >= since:
                b.warn(
                    "drift-added-back",
                    f"{b.who()}: subscription {s.id} ({s.offer_name or s.offer_id}, "
                    f"{s.quantity} seats) is active in source {tenant} after the migration "
                    "started and no manifest names it",
                )


def _unmanaged(
    b: Builder, subs: tuple[model.LiveSubscription, ...]
) -> tuple[actions.Unmanaged, ...]:
    if not subs:  # speed: most customers hold nothing unmanaged
        return ()
    c = b.customer
    return tuple(
        actions.Unmanaged(
            b.target_name,
            c.tenant_id,
            c.name,
            s.id,
            s.offer_id,
            s.friendly_name,
            s.quantity,
            s.status.value,
        )
        for s in subs
    )


def plan_customer(
    customer: model.DesiredCustomer,
    live: model.LiveState,
    consolidation: model.Consolidation,
    now: datetime,
) -> CustomerPlan:
    """Every change, gate and warning for one customer."""
    target_name = consolidation.target.name
    names = customer.sources
    seen: dict[str, model.CustomerView] = {}
    why = _unknown(customer, live, [*names, target_name], seen)
    if why:
        return _error(customer, "state-unknown", f"{why}; nothing is planned for this customer")
    if len(names) == 1:  # speed: most customers are held in one source (``names[0]``)
        src, views = seen[names[0]], {}
    else:
        views = {n: seen[n] for n in names}
        src = views.pop(customer.source)
    tgt = seen[target_name]
    outside = _not_a_customer(customer, src, views)
    if outside:
        return _error(customer, "not-in-source", outside)
    target_ok = tgt.status is _OK
    if (
        target_ok
        and tgt.transfers is None
        and _may_transfer(customer, consolidation.policy, {customer.source: src, **views})
    ):
        return _error(
            customer,
            "state-unknown",
            f"the transfer requests of {customer.name} ({customer.tenant_id}) in tenant "
            f"{target_name} are unknown ({tgt.transfers_reason or 'they were not read'}) and "
            f"its manifest ({customer.origin}) asks for a transfer; nothing is planned for this "
            "customer",
        )
    # Sorted so the plan does not depend on the order Partner Center lists subscriptions in.
    target_subs = tuple(sorted(tgt.subscriptions, key=_BY_ID)) if target_ok else ()
    b = Builder(customer, consolidation, now, src, target_subs, live.invitation_url, _sources=names)
    b.other_sources = views
    b.transfers = tgt.transfers or () if target_ok else ()
    if target_ok:
        b.agreement, b.agreement_reason = tgt.agreement, tgt.agreement_reason
    lives: dict[int, model.LiveSubscription] = {}
    missing = _missing_sources(b, lives)
    if missing:
        return _error(customer, "not-in-source", f"{missing}; nothing is planned for this customer")
    result = matching.match_customer(
        customer, _every_source(b), target_subs, _transferred(b), b.families
    )
    if result.problems:
        text = "; ".join(
            f"{p.key}: {p.message}"
            + (f" (candidates: {', '.join(p.candidates)})" if p.candidates else "")
            for p in result.problems
        )
        return _error(
            customer, "ambiguous-match", f"{b.who()}: {text}; nothing is planned for this customer"
        )
    if not target_ok:
        _invitation(b)
    if customer.azure:  # speed: most customers hand nothing off
        azure.prepare(b)
    _plan_entries(b, result.matches, lives)
    if b.strategies:
        _transfer_warnings(b)
    for handoff in customer.azure:
        azure.record(b, handoff)
        azure.plan_handoff(
            b, handoff, result.azure.get(handoff.key), customer.protect or handoff.protect
        )
    # Speed: a customer with nothing in the target matched nothing (most of a large plan).
    if target_subs:
        matched = [m.live for m in result.matches if m.live is not None]
        matched += [t for t in result.azure.values() if t is not None]
        _drift(b, matched)
    status = (
        actions.CustomerStatus.INVITATION_PENDING if b.invite_id else actions.CustomerStatus.PLANNED
    )
    return CustomerPlan(
        status,
        tuple(b.changes),
        tuple(b.diagnostics),
        _unmanaged(b, result.unmanaged),
        b.azure_ready,
        tuple(b.strategies),
    )


def _plan_entries(
    b: Builder, matches: tuple[matching.Match, ...], lives: dict[int, model.LiveSubscription]
) -> None:
    """Each entry's sources (strategy, fallback warning) and target, then its sources' steps;
    ``lives`` as ``_missing_sources`` fills it."""
    blocked = _transfer_blocks(b, matches, lives)
    why_not = {sid: block.why for sid, block in blocked.items()}
    # The blocks worth a warning, looked at per pair only when there are any (speed).
    warned = {sid: block for sid, block in blocked.items() if block.warn}
    by_transfer = sources.S.TRANSFER
    customer_protected = b.customer.protect
    # Speed: the functions called per entry, looked up once.
    resolve, record, plan_sources = sources.resolve_sources, sources.record, sources.plan_sources
    plan_existing, transfer, create = targets.plan_existing, targets.transfer, targets.create
    for match in matches:
        ds = match.desired
        protected = customer_protected or ds.protect
        srcs = resolve(b, ds, why_not, lives)
        # The sources that move by transfer instead of a create (one pass, for speed; a list
        # only when one does).
        moving: list[model.LiveSubscription] | None = None
        for pair in srcs:
            record(b, ds, pair, protected)
            s, d = pair.live, pair.decision
            if s is None or d is None:
                continue
            if warned and s.id in warned:
                _fallback_warning(b, s, d, warned[s.id])
            if d.strategy is by_transfer:
                if moving is None:
                    moving = [s]
                else:
                    moving.append(s)
        # ``targets.plan_target(b, match, moving, protected)``, dispatched here (speed).
        live = match.live
        if live is not None:
            outlook = plan_existing(b, ds, live)
        elif moving:
            outlook = transfer(b, ds, moving, protected)
        else:
            outlook = create(b, ds)
        plan_sources(b, ds, srcs, outlook, protected)


def _transfer_blocks(
    b: Builder, matches: tuple[matching.Match, ...], lives: dict[int, model.LiveSubscription]
) -> dict[str, eligibility.Block]:
    """Why a transfer cannot move each source subscription that would otherwise move by one
    (``becomes: transferred``, or ``auto`` for new commerce under a transfer-first policy).
    ``lives``: each replacement's source subscription, by ``id()`` (``_missing_sources``)."""
    c = b.customer
    prefers = b.policy.prefers_transfer
    auto_, transferred, nce = _AUTO, _TRANSFERRED, _NCE
    # Source tenants by name, looked up once per customer (speed).
    tenants: dict[str, model.Tenant | None] = {}
    pairs = []
    explicit_asked = False  # any ``becomes: transferred`` among the pairs checked
    for m in matches:
        for r in m.desired.replaces:
            becomes = r.becomes
            if becomes is transferred:
                explicit_asked = True
            elif becomes is not auto_ or not prefers:
                continue  # never moves by transfer: nothing to check (speed)
            live = lives.get(id(r))
            if live is None or live.status in GONE:
                continue
            if becomes is not transferred and live.commerce is not nce:
                continue  # ``auto`` moves only new commerce by transfer: no tenant look-up
            tenant = r.source or c.source  # ``c.source_of(r)``, inline for speed
            if tenant in tenants:
                source = tenants[tenant]
            else:
                source = tenants[tenant] = b.consolidation.source(tenant)
            if source is not None:
                pairs.append(eligibility.Pair(m.desired, live, source, m.live, m.rule))
    found = eligibility.blocks(pairs, b.consolidation.target, b.families) if pairs else {}
    if not found or not explicit_asked:
        return found  # speed: no manifest choice to weigh against the blocks
    # An explicit ``becomes: transferred`` is the manifest's choice: only a real eligibility
    # problem (region, limits, product type) overrides it, not a fact of the pair.
    explicit = {
        p.source.id
        for p in pairs
        if any(
            r.becomes is model.SourceStrategy.TRANSFERRED and r.subscription_id == p.source.id
            for r in p.entry.replaces
        )
    }
    return {sid: bl for sid, bl in found.items() if bl.warn or sid not in explicit}


def _fallback_warning(
    b: Builder, s: model.LiveSubscription, d: strategy.Decision, block: eligibility.Block
) -> None:
    """A pair that wanted a transfer and falls back because of an eligibility problem
    (``block``, one worth a warning)."""
    b.warn(
        "transfer-ineligible",
        f"{b.who()}: source {s.id} cannot move by partner-to-partner transfer: {block.why}; "
        f"it is re-provisioned instead ({d.strategy.value} once the target is active)",
    )


def _transfer_warnings(b: Builder) -> None:
    """Per customer: source tenants whose region is not in the map, and more subscriptions
    moving from one source than one transfer request is reported to carry."""
    counts: dict[str, int] = {}
    route = _ROUTE_TRANSFER
    for p in b.strategies:
        if p.route is route:
            counts[p.tenant] = counts.get(p.tenant, 0) + 1
    for tenant in sorted(counts):
        source = b.consolidation.source(tenant)
        why, certain = (
            eligibility.region_problem(source, b.consolidation.target) if source else ("", True)
        )
        if why and not certain:
            b.warn("transfer-region-unchecked", f"{b.who()}: {why}; check it before applying")
    if not counts or max(counts.values()) <= eligibility.MAX_LINES_PER_REQUEST:
        return  # speed: no request is crowded, so no (tenant, id) list to build
    moving = [
        (p.tenant, p.subscription_id) for p in b.strategies if p.route is actions.Route.TRANSFER
    ]
    for tenant, n in eligibility.crowded_requests(moving):
        b.warn(
            "transfer-lines",
            f"{b.who()}: {n} subscriptions move from {tenant} by transfer; one request is "
            f"reported to carry about {eligibility.MAX_LINES_PER_REQUEST} line items "
            "(unconfirmed by Microsoft), so expect several requests, each accepted on its own",
        )
