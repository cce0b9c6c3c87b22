"""Planning one customer: check that its state is known in every tenant, gate on the
reseller invitation, match target subscriptions, then plan targets, sources and Azure
hand-offs, and report drift and unmanaged subscriptions.

Rule 3 lives here: a customer whose view is unknown in any tenant (or was not read at all)
gets no change, only an error naming the tenant and the reason; so does a customer whose
manifests ask for a partner-to-partner transfer while its transfer requests in the target are
unknown (a pending request must never look like "none"). Pure: values in, values out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler import model
from reconciler.planning import actions, azure, matching, sources, targets
from reconciler.planning.builder import Builder

A = actions.Action
R = actions.Reason
RS = model.ReadStatus


@dataclass(frozen=True, slots=True)
class CustomerPlan:
    status: actions.CustomerStatus
    changes: tuple[actions.Change, ...]
    diagnostics: tuple[actions.Diagnostic, ...]
    unmanaged: tuple[actions.Unmanaged, ...]
    azure_ready: bool


def _error(customer: model.DesiredCustomer, code: str, message: str) -> CustomerPlan:
    diag = actions.Diagnostic(actions.Severity.ERROR, code, message, customer.tenant_id)
    return CustomerPlan(actions.CustomerStatus.SKIPPED, (), (diag,), (), False)


def _unknown(customer: model.DesiredCustomer, live: model.LiveState, names: list[str]) -> str:
    """Why the customer's state is not known, or "" when every tenant view is usable."""
    who = f"{customer.name} ({customer.tenant_id})"
    for name in names:
        view = live.view(name)
        cv = view.customer(customer.tenant_id) if view is not None else None
        if cv is None:
            return f"{who} was not read in tenant {name}"
    for name in sorted(live.tenants):
        cv = live.tenants[name].customer(customer.tenant_id)
        if cv is not None and cv.status is RS.UNKNOWN:
            return f"the state of {who} in tenant {name} is unknown ({cv.reason or 'no reason'})"
    return ""


def wants_transfer(customer: model.DesiredCustomer, policy: model.Policy) -> bool:
    """True when a source subscription of ``customer`` may be moved by transfer, so its plan
    depends on the transfer requests read in the target: a pair says ``becomes:
    transferred``, or says ``auto`` under ``nceSourceStrategy: transfer``."""
    auto = policy.nce_strategy is model.NceStrategy.TRANSFER
    return any(
        r.becomes is model.SourceStrategy.TRANSFERRED
        or (auto and r.becomes is model.SourceStrategy.AUTO)
        for ds in customer.subscriptions
        for r in ds.replaces
    )


def _transferred(b: Builder) -> dict[str, str]:
    """Source subscription id -> target subscription id, from completed transfers."""
    return {
        line.source_subscription_id: line.target_subscription_id
        for t in reversed(b.transfers_from_source())
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
    started = [t.creation_date for t in matched if t.creation_date is not None]
    if not matched:
        return
    since = min(started) if started else None
    named = {r.subscription_id for ds in b.customer.subscriptions for r in ds.replaces}
    named |= {h.source_subscription_id for h in b.customer.azure}
    for s in sorted(b.source.subscriptions, key=lambda x: x.id):
        if s.id in named or s.status is not model.SubscriptionStatus.ACTIVE:
            continue
        if since is None or s.creation_date is None or s.creation_date >= since:
            b.warn(
                "drift-added-back",
                f"{b.who()}: subscription {s.id} ({s.offer_name or s.offer_id}, {s.quantity} "
                f"seats) is active in source {b.customer.source} after the migration started "
                "and no manifest names it",
            )


def _unmanaged(
    b: Builder, subs: tuple[model.LiveSubscription, ...]
) -> tuple[actions.Unmanaged, ...]:
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
    why = _unknown(customer, live, [customer.source, target_name])
    if why:
        return _error(customer, "state-unknown", f"{why}; nothing is planned for this customer")
    src = live.tenants[customer.source].customers[customer.tenant_id]
    tgt = live.tenants[target_name].customers[customer.tenant_id]
    if src.status is RS.NO_RELATIONSHIP:
        return _error(
            customer,
            "not-in-source",
            f"{customer.name} ({customer.tenant_id}) is not a "
            f"customer of source tenant {customer.source}; check customer.source at "
            f"{customer.origin}",
        )
    if (
        tgt.status is RS.OK
        and tgt.transfers is None
        and wants_transfer(customer, consolidation.policy)
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
    target_subs = (
        tuple(sorted(tgt.subscriptions, key=lambda x: x.id)) if tgt.status is RS.OK else ()
    )
    b = Builder(customer, consolidation, now, src, target_subs, live.invitation_url)
    b.transfers = tgt.transfers or () if tgt.status is RS.OK else ()
    result = matching.match_customer(customer, src, target_subs, _transferred(b), b.families)
    if result.problems:
        text = "; ".join(
            f"{p.key}: {p.message}"
            + (f" (candidates: {', '.join(p.candidates)})" if p.candidates else "")
            for p in result.problems
        )
        return _error(
            customer, "ambiguous-match", f"{b.who()}: {text}; nothing is planned for this customer"
        )
    if tgt.status is not RS.OK:
        _invitation(b)
    for match in result.matches:
        ds = match.desired
        protected = customer.protect or ds.protect
        srcs = sources.resolve_sources(b, ds)
        moving = [
            s.live
            for s in srcs
            if s.live is not None
            and s.decision is not None
            and s.decision.strategy is sources.S.TRANSFER
        ]
        outlook = targets.plan_target(b, match, moving, protected)
        sources.plan_sources(b, ds, srcs, outlook, protected)
    for handoff in customer.azure:
        azure.plan_handoff(
            b, handoff, result.azure.get(handoff.key), customer.protect or handoff.protect
        )
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
    )
