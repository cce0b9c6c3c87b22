"""Helpers shared by the renderers: grouping changes by customer, one-line descriptions,
the summary sentence. They read only the plan document and return strings; no printing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.planning import actions

A = actions.Action


def phrase(action: actions.Action, count: int) -> str:
    """``count`` and how the summary names ``action``, singular when ``count`` is 1."""
    facts = action.facts
    return f"{count} {facts.one if count == 1 else facts.many}"


#: How the summary sentence names each plan outcome.
OUTCOMES = {
    actions.PlanOutcome.ERRORED: "errors: some customers could not be planned",
    actions.PlanOutcome.CHANGES: "changes to apply",
    actions.PlanOutcome.WAITING: "nothing to apply now; waiting on others",
    actions.PlanOutcome.NO_CHANGES: "no changes",
}


def day(at: datetime | None) -> str:
    return at.date().isoformat() if at is not None else "?"


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M %Z").strip()


@dataclass
class Group:
    """One customer's part of the plan, in plan order."""

    entry: actions.CustomerEntry | None
    customer_id: str
    name: str
    changes: list[actions.Change] = field(default_factory=list)
    diagnostics: list[actions.Diagnostic] = field(default_factory=list)
    #: How each of its source subscriptions moves (the plan's strategy per pair).
    strategies: list[actions.PairStrategy] = field(default_factory=list)

    @property
    def errored(self) -> bool:
        return any(d.severity is actions.Severity.ERROR for d in self.diagnostics)

    @property
    def settled(self) -> bool:
        """True when nothing is planned but no-ops, and nothing went wrong."""
        return not self.errored and all(c.action is A.NOOP for c in self.changes)

    def counts(self) -> dict[A, int]:
        found: dict[A, int] = {}
        for c in self.changes:
            found[c.action] = found.get(c.action, 0) + 1
        return found


def groups(plan: actions.Plan) -> list[Group]:
    """Customers in plan order, each with its changes and diagnostics."""
    by_id: dict[str, Group] = {c.tenant_id: Group(c, c.tenant_id, c.name) for c in plan.customers}
    for ch in plan.changes:
        g = by_id.get(ch.address.customer_id)
        if g is None:
            g = by_id[ch.address.customer_id] = Group(
                None, ch.address.customer_id, ch.address.customer_name
            )
        g.changes.append(ch)
    for d in plan.diagnostics:
        if d.customer_id is not None and d.customer_id in by_id:
            by_id[d.customer_id].diagnostics.append(d)
    for p in plan.strategies:
        if p.customer_id in by_id:
            by_id[p.customer_id].strategies.append(p)
    return list(by_id.values())


def pair_text(p: actions.PairStrategy) -> str:
    """Which pair a strategy is about: ``de business-basic (5b1e...)``."""
    return f"{p.tenant} {p.key} ({p.subscription_id})"


def route_text(p: actions.PairStrategy) -> str:
    """The route and, when it differs in kind, what becomes of the source: ``re-provision,
    then cancel``; ``transfer``."""
    if p.action is None or p.route in (actions.Route.KEEP, actions.Route.NONE):
        return p.route.value
    return f"{p.route.value}, then {p.action.value}"


def rejected_text(p: actions.PairStrategy) -> list[str]:
    """One ``not <route>: <why>`` per rejected route."""
    return [f"not {r.route.value}: {r.why}" for r in p.rejected]


def summary_line(plan: actions.Plan) -> str:
    """``Plan: 9 to create, 6 to suspend, ...; 3 warnings.``"""
    counts = plan.counts()
    parts = [phrase(a, counts[a.value]) for a in A if a.value in counts]
    if plan.deferred:
        parts.append(f"{len(plan.deferred)} deferred by caps")
    n_err = sum(1 for d in plan.diagnostics if d.severity is actions.Severity.ERROR)
    n_warn = len(plan.diagnostics) - n_err
    tail = [
        f"{n} {w}{'s' if n != 1 else ''}" for n, w in ((n_err, "error"), (n_warn, "warning")) if n
    ]
    body = ", ".join(parts) or "nothing"
    return (
        f"Plan: {body}" + (f"; {', '.join(tail)}" if tail else "") + f" ({OUTCOMES[plan.outcome]})."
    )


def target_text(c: actions.Change) -> str:
    """Short 'what' for a change: the subscription or key it is about."""
    a = c.address
    if a.key and a.subscription_id:
        return f"{a.tenant} {a.key} ({a.subscription_id})"
    if a.key:
        return f"{a.tenant} {a.key} (new)"
    if a.subscription_id:
        return f"{a.tenant} {a.subscription_id}"
    return a.tenant


def labels(plan: actions.Plan) -> dict[str, str]:
    """A short human label per change id, for "waits for" lines."""
    return {c.id: f"{c.action.value} {target_text(c)}" for c in plan.changes}


def facts(c: actions.Change, names: Mapping[str, str]) -> list[str]:
    """Extra facts for a change: what is ordered, waits, overlap, deadlines, gate details."""
    lines: list[str] = []
    after = c.after or {}
    if c.action is A.CREATE:
        lines.append(
            f"order {after.get('quantity')} x {after.get('offer_id')} as "
            f'"{after.get("friendly_name")}" ({after.get("billing_cycle")}, '
            f"{after.get('term_duration') or 'no term'}, via {after.get('channel')})"
        )
    if c.blocked_by:
        lines.append(f"waits for: {'; '.join(names.get(b, b) for b in c.blocked_by)}")
    if c.overlap is not None:
        span = "open-ended" if c.overlap.days is None else f"{c.overlap.days} days"
        lines.append(f"billing overlap: {span} ({c.overlap.note})")
    lines.extend(f"{d.kind}: {day(d.at)} ({d.note})" for d in c.deadlines)
    if c.gate is not None:
        lines.append(f"waiting on {c.gate.waiting_on}: {c.gate.what}")
        if c.gate.url:
            lines.append(f"invitation URL: {c.gate.url}")
    return lines


def first(items: Iterable[str], n: int) -> tuple[list[str], int]:
    """At most ``n`` items and how many were left out."""
    seq = list(items)
    return seq[:n], max(len(seq) - n, 0)


def count(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1 ("1 customer", "6 customers")."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
