"""The planning core's entry point: ``build_plan(desired, live, now=...) -> Plan``.

Pure and deterministic: manifests and live state in, a plan document out; the clock and the
tool version are parameters. No I/O, no network, no printing. Customers are planned
independently (planning.customer), then their changes are ordered (graphlib), checked against
the policy caps, and wrapped with the fingerprints ``apply`` uses to refuse a stale plan.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from itertools import chain
from types import MappingProxyType

from reconciler import __version__, errors, model
from reconciler.planning import (
    actions,
    customer,
    deadlines,
    fingerprint,
    gcpause,
    ordering,
)


def select_customers(
    desired: model.DesiredState,
    *,
    include: Collection[str] = (),
    exclude: Collection[str] = (),
    source: str | None = None,
) -> tuple[model.DesiredCustomer, ...]:
    """The customers in scope, sorted by name then tenant id (the plan's customer order).

    ``include``/``exclude`` accept tenant ids or customer names (case-insensitive); a value
    that names no manifest customer is a ``UsageError`` naming every such value, so a typo
    never silently narrows (or widens) what is planned.
    """
    inc = {s.lower() for s in include}
    exc = {s.lower() for s in exclude}
    # Built only when there is a value to check: written for speed (once per customer).
    known = (
        {c.tenant_id for c in desired.customers} | {c.name.lower() for c in desired.customers}
        if inc or exc
        else set()
    )
    for option, values in (("--customer", include), ("--exclude-customer", exclude)):
        unknown = [v for v in values if v.lower() not in known]
        if unknown:
            raise errors.UsageError(
                f"{option} {', '.join(unknown)}: no manifest customer has that tenant id or "
                "name, so nothing was planned; run `reconciler validate` to list the customers "
                "and correct or drop the value."
            )

    def wanted(c: model.DesiredCustomer) -> bool:
        ids = {c.tenant_id, c.name.lower()}
        if inc and not ids & inc:
            return False
        if ids & exc:
            return False
        return source is None or source in c.sources

    # Every customer when nothing filters: written for speed (no test per customer).
    chosen = (
        list(desired.customers)
        if not inc and not exc and source is None
        else [c for c in desired.customers if wanted(c)]
    )
    return tuple(sorted(chosen, key=lambda c: (c.name.casefold(), c.tenant_id)))


def transfer_customers(
    customers: Collection[model.DesiredCustomer], policy: model.Policy
) -> tuple[str, ...]:
    """Tenant ids of the customers whose plan depends on their transfer requests: pass them
    as ``transfers=`` to ``partner_center.reading.read_live_state`` (and the same set when
    apply re-reads, so fingerprints compare like with like)."""
    return tuple(sorted(c.tenant_id for c in customers if customer.wants_transfer(c, policy)))


def agreement_customers(customers: Collection[model.DesiredCustomer]) -> tuple[str, ...]:
    """Tenant ids of the customers a plan may buy for (an entry that adopts no pinned target
    subscription, or an Azure hand-off: an Azure plan transfer may need the Azure plan bought
    in the target first): their Microsoft Customer Agreement acceptance is read in the target
    (pass them as ``agreements=`` to ``partner_center.reading.read_live_state``)."""
    return tuple(
        sorted(
            c.tenant_id
            for c in customers
            if c.azure or any(s.target_subscription_id is None for s in c.subscriptions)
        )
    )


def build_plan(
    desired: model.DesiredState,
    live: model.LiveState,
    *,
    now: datetime,
    tool_version: str = __version__,
    include: Collection[str] = (),
    exclude: Collection[str] = (),
    source: str | None = None,
) -> actions.Plan:
    """Plan every customer in scope and return the ordered, capped plan document."""
    with gcpause.paused():
        return _build(desired, live, now, tool_version, include, exclude, source)


def _build(
    desired: model.DesiredState,
    live: model.LiveState,
    now: datetime,
    tool_version: str,
    include: Collection[str],
    exclude: Collection[str],
    source: str | None,
) -> actions.Plan:
    consolidation = desired.consolidation
    chosen = select_customers(desired, include=include, exclude=exclude, source=source)
    rank = {c.tenant_id: i for i, c in enumerate(chosen)}
    #: Each customer's changes, in customer order (``ordering.order_by_customer``).
    changes: list[Sequence[actions.Change]] = []
    diagnostics: list[actions.Diagnostic] = []
    unmanaged: list[actions.Unmanaged] = []
    entries: list[actions.CustomerEntry] = []
    strategies: list[actions.PairStrategy] = []
    ready: list[str] = []
    target = consolidation.target.name
    for c in chosen:
        result = customer.plan_customer(c, live, consolidation, now)
        changes.append(result.changes)
        diagnostics.extend(result.diagnostics)
        unmanaged.extend(result.unmanaged)
        strategies.extend(result.strategies)
        if result.azure_ready:
            ready.append(c.name)
        sources = c.sources
        digest, snapshot = fingerprint.customer_state(c.tenant_id, (*sources, target), live)
        entries.append(
            actions.CustomerEntry(
                c.tenant_id,
                c.name,
                c.source,
                result.status,
                digest,
                snapshot,
                sources=sources if len(sources) > 1 else (),
            )
        )
    ordered = ordering.order_by_customer(changes)
    kept, deferred, summary = ordering.apply_caps(ordered, consolidation.policy)
    if summary:
        diagnostics.append(
            actions.Diagnostic(
                actions.Severity.WARNING,
                "cap-deferred",
                f"{len(deferred)} changes wait for a later apply because of the policy caps "
                f"({summary}); plan again after this apply",
            )
        )
    diagnostics.extend(
        deadlines.soon(chain(kept, deferred), now, consolidation.policy.deadline_warning_days)
    )
    if where := consolidation.policy.nce_strategy_without_move_by:
        diagnostics.append(
            actions.Diagnostic(
                actions.Severity.WARNING,
                "policy-move-by",
                f"the policy at {where} sets nceSourceStrategy but not moveBy, which "
                "defaults to transfer-first: new-commerce pairs with becomes: auto move by "
                "partner-to-partner transfer where "
                "eligible, and nceSourceStrategy applies only where a transfer cannot; add "
                "moveBy: re-provision to the policy to re-buy them as before, or moveBy: "
                "transfer-first to silence this warning",
            )
        )
    # Errors first, then warnings; each group in customer order (stable sort).
    diagnostics.sort(
        key=lambda d: (d.severity is not actions.Severity.ERROR, rank.get(d.customer_id or "", -1))
    )
    scope: dict[str, actions.Scalar | tuple[str, ...]] = {
        "include": tuple(sorted(include)),
        "exclude": tuple(sorted(exclude)),
        "source": source,
    }
    return actions.Plan(
        tool_version=tool_version,
        created_at=now,
        consolidation=consolidation.name,
        target=target,
        inputs_digest=desired.digest,
        live_read_at=live.read_at,
        customers=tuple(entries),
        changes=tuple(kept),
        deferred=tuple(deferred),
        unmanaged=tuple(unmanaged),
        diagnostics=tuple(diagnostics),
        azure_ready=tuple(ready),
        strategies=tuple(strategies),
        scope=MappingProxyType(scope),
    )
