"""Pure checks apply makes before it starts (policy caps, narrowing to some customers) and
the rule-1 test it makes right before each source write.

No I/O here: values in, a verdict or a narrowed plan out. This module must NOT call the
writer or read the journal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping

from reconciler import errors, model
from reconciler.applying import ports
from reconciler.planning import actions, sources

A = actions.Action


def narrow(plan: actions.Plan, customers: Collection[str]) -> actions.Plan:
    """``plan`` restricted to ``customers`` (tenant ids or names, case-insensitive); raises
    ``UsageError`` when one of them is not in the plan."""
    if not customers:
        return plan
    wanted = {c.lower() for c in customers}
    chosen = {c.tenant_id for c in plan.customers if {c.tenant_id, c.name.lower()} & wanted}
    known = {c.tenant_id for c in plan.customers} | {c.name.lower() for c in plan.customers}
    unknown = sorted(wanted - known)
    if unknown:
        raise errors.UsageError(
            f"--customer {', '.join(unknown)}: not a customer of this plan; use a tenant id or "
            "a customer name listed by `reconciler plan`."
        )
    return dataclasses.replace(
        plan,
        customers=tuple(c for c in plan.customers if c.tenant_id in chosen),
        changes=tuple(c for c in plan.changes if c.address.customer_id in chosen),
        deferred=tuple(c for c in plan.deferred if c.address.customer_id in chosen),
        # Renderers walk the whole plan: the other customers' strategies cost time, not text.
        strategies=tuple(p for p in plan.strategies if p.customer_id in chosen),
    )


def cap_violations(plan: actions.Plan, policy: model.Policy) -> list[str]:
    """Each cap of ``policy`` the applicable changes of ``plan`` exceed, as a sentence."""
    todo = [c for c in plan.changes if c.applicable]
    found = []
    limits = [
        (per.noun, sum(1 for c in todo if c.action is a), per.limit(policy))
        for a in A
        if (per := a.facts.cap) is not None
    ]
    n_cust = len({c.address.customer_id for c in todo})
    for label, n, cap in (*limits, ("customers", n_cust, policy.max_customers_per_apply)):
        if n > cap:
            found.append(f"{n} {label} (the policy allows {cap} per apply)")
    return found


def check_caps(plan: actions.Plan, policy: model.Policy) -> None:
    """Refuse (``ApplyRefusedError``) before any write when the plan exceeds a cap."""
    found = cap_violations(plan, policy)
    if found:
        raise errors.ApplyRefusedError(
            "This apply would exceed the blast-radius caps of the consolidation manifest: "
            + "; ".join(found)
            + ". Nothing was changed. Narrow it with --customer, or re-plan (a fresh plan "
            "defers what exceeds the caps to a later apply)."
        )


def _manifest_says(change: actions.Change, desired: model.DesiredState) -> str | None:
    """Why the current manifests no longer allow ``change`` (None when they still do)."""
    a = change.address
    customer = desired.customer(a.customer_id)
    if customer is None:
        return f"{a.customer_name} ({a.customer_id}) is no longer in the manifests"
    if change.action is actions.Action.RECORD_AGREEMENT:
        if customer.agreement is None:
            return f"{a.customer_name}: the manifests no longer record its customerAgreement"
        return None
    entry = next((ds for ds in customer.subscriptions if ds.key == a.key), None)
    if entry is None:
        return _azure_says(change, customer)
    if not change.action.facts.touches_source:  # a protect flag forbids only those
        return None
    sid = (a.subscription_id or "").lower()
    if sid not in {r.subscription_id.lower() for r in entry.replaces}:
        return f"{a.customer_name}: '{a.key}' no longer replaces {a.subscription_id}"
    if customer.protect or entry.protect:
        return f"{a.customer_name}: {a.subscription_id} ('{a.key}') is now protected"
    return None


def _azure_says(change: actions.Change, customer: model.DesiredCustomer) -> str | None:
    """``_manifest_says`` for a change of an Azure hand-off (an Azure plan moved by transfer,
    and the target's Azure plan bought for it)."""
    a = change.address
    handoff = next((h for h in customer.azure if h.key == a.key), None)
    if handoff is None:
        return f"{a.customer_name}: the manifests no longer have an entry '{a.key}'"
    if not change.action.facts.touches_source:
        return None
    if (a.subscription_id or "").lower() != handoff.source_subscription_id.lower():
        return f"{a.customer_name}: '{a.key}' no longer names {a.subscription_id}"
    if customer.protect or handoff.protect:
        return f"{a.customer_name}: {a.subscription_id} ('{a.key}') is now protected"
    return None


def check_manifests(plan: actions.Plan, desired: model.DesiredState) -> None:
    """Refuse (``ApplyRefusedError``) a saved plan whose applicable writes the current
    manifests no longer allow: a ``protect`` flag added, a pair or customer removed."""
    found = [
        f"{c.action.value} {why}"
        for c in plan.changes
        if c.applicable
        for why in (_manifest_says(c, desired),)
        if why
    ]
    if found:
        raise errors.ApplyRefusedError(
            "The saved plan no longer matches the manifests: "
            + "; ".join(found)
            + ". Nothing was changed. Run `reconciler plan --out FILE` again, review it, and "
            "apply the new file."
        )


def required_seats(plan: actions.Plan, change: actions.Change, fresh_quantity: int) -> int:
    """Seats the paired target must have before ``change`` (a source write) may run: this
    source's fresh count plus every other source the same manifest entry replaces that stops
    serving users, including ones an earlier run already suspended (their users are on the
    target too). The arithmetic is the planner's (``planning.sources.seats_to_cover``)."""
    others: dict[str, tuple[int, actions.Strategy | None]] = {}
    me = change.address
    for c in (*plan.changes, *plan.deferred):
        a = c.address
        if (
            a.tenant != plan.target
            and a.customer_id == me.customer_id
            and a.key == me.key
            and a.subscription_id
            and a.subscription_id != me.subscription_id
        ):
            q = (c.before or {}).get("quantity")
            others[a.subscription_id] = (
                q if isinstance(q, int) else 0,
                c.action.facts.strategy or c.strategy,
            )
    mine = (fresh_quantity, change.action.facts.strategy or change.strategy)
    return sources.seats_to_cover([mine, *others.values()])


def target_blocks(target: ports.Sub | None, required: int) -> str | None:
    """Why rule 1 forbids touching the source now, or None when the target covers it."""
    if target is None:
        return "its paired target subscription was not found in the target tenant"
    if target.status is not model.SubscriptionStatus.ACTIVE:
        return f"its paired target subscription {target.id} is {target.status}, not active"
    if target.quantity < required:
        return (
            f"its paired target subscription {target.id} has {target.quantity} seats, fewer "
            f"than the {required} it must cover"
        )
    return None


def check_rederived(saved: actions.Plan, fresh: actions.Plan) -> None:
    """Refuse (``ApplyRefusedError``) a saved plan that asks for any write a plan made now,
    from the same manifests and fresh live state, does not also make: same change (action and
    address), same values (``after``) and the same dependencies. A saved plan is a promise
    reviewed in a pull request, not an instruction: a file edited by hand (a source cut to one
    seat, a suspended source re-activated, 300 seats ordered instead of 25, another offer)
    is refused here with nothing written."""
    made = {c.id: c for c in (*fresh.changes, *fresh.deferred)}
    found = [why for c in saved.changes if c.applicable and (why := _unsupported(c, made))]
    if found:
        raise errors.ApplyRefusedError(
            "The saved plan asks for writes that the manifests and live state do not support: "
            + "; ".join(found)
            + ". Nothing was changed. The file may have been edited after review: run "
            "`reconciler plan --out FILE` again, review it, and apply the new file."
        )


def _unsupported(c: actions.Change, made: Mapping[str, actions.Change]) -> str:
    """Why ``c`` is not a change of the fresh plan ``made`` (by id), or ``""``."""
    f = made.get(c.id)
    if f is None or f.action is not c.action or f.address != c.address:
        return f"{c.action.value} {c.address}: a plan made now has no such change"
    mine, theirs = c.after or {}, f.after or {}
    moved = sorted(k for k in {*mine, *theirs} if mine.get(k) != theirs.get(k))
    if moved:
        said = ", ".join(
            f"{k} {mine.get(k)!r} where a plan made now says {theirs.get(k)!r}" for k in moved
        )
        return f"{c.action.value} {c.address}: {said}"
    if set(c.depends_on) != set(f.depends_on):
        return f"{c.action.value} {c.address}: its dependencies differ from a plan made now"
    if not f.applicable:
        waits = ", ".join(f.blocked_by) or "nothing it may do now"
        return f"{c.action.value} {c.address}: a plan made now waits on {waits} first"
    return ""
