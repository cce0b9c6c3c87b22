"""Order the changes (graphlib over ``depends_on``, ties broken by customer, phase and
address so the order is deterministic), work out which gates block each change, and push
changes beyond the policy caps to a later apply (``Plan.deferred``).

Pure: sequences of changes in, sequences of changes out.
"""

from __future__ import annotations

import dataclasses
import graphlib
import heapq
from collections.abc import Mapping, Sequence

from reconciler import model
from reconciler.planning import actions

A = actions.Action

#: Rank within a customer when dependencies leave a choice: gates and target work first,
#: source work after, no-ops last.
_PHASE = {
    A.INVITE: 0,
    A.TRANSFER: 1,
    A.CREATE: 1,
    A.REACTIVATE: 1,
    A.AWAIT_ACTIVATION: 1,
    A.ACCEPT_TRANSFER: 2,
    A.RESIZE: 2,
    A.AZURE_HANDOFF: 3,
    A.AZURE_VERIFY: 4,
    A.SUSPEND: 5,
    A.CANCEL: 5,
    A.DISABLE_AUTO_RENEW: 5,
    A.HOLD: 6,
    A.NOOP: 7,
}


def _key(c: actions.Change, rank: Mapping[str, int]) -> tuple[int, int, str, str, str, str]:
    a = c.address
    return (
        rank.get(a.customer_id, len(rank)),
        _PHASE[c.action],
        a.key or "",
        a.subscription_id or "",
        c.action.value,
        c.id,
    )


def order(changes: Sequence[actions.Change], rank: Mapping[str, int]) -> list[actions.Change]:
    """Topological order of ``changes``; among ready changes the smallest sort key goes first."""
    by_id = {c.id: c for c in changes}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for c in changes:
        sorter.add(c.id, *(d for d in c.depends_on if d in by_id))
    sorter.prepare()
    heap: list[tuple[tuple[int, int, str, str, str, str], str]] = []
    result: list[actions.Change] = []
    while sorter.is_active():
        for cid in sorter.get_ready():
            heapq.heappush(heap, (_key(by_id[cid], rank), cid))
        _, cid = heapq.heappop(heap)
        result.append(by_id[cid])
        sorter.done(cid)
    return result


def with_blockers(ordered: Sequence[actions.Change]) -> list[actions.Change]:
    """Set ``blocked_by`` to the gates each change transitively depends on."""
    blocked: dict[str, tuple[str, ...]] = {}
    gates: set[str] = set()
    result = []
    for c in ordered:
        found: dict[str, None] = {}
        for d in c.depends_on:
            found.update(dict.fromkeys(blocked.get(d, ())))
            if d in gates:
                found[d] = None
        blocked[c.id] = tuple(found)
        if c.action.is_gate:
            gates.add(c.id)
        result.append(dataclasses.replace(c, blocked_by=blocked[c.id]) if found else c)
    return result


def apply_caps(
    ordered: Sequence[actions.Change], policy: model.Policy
) -> tuple[list[actions.Change], list[actions.Change], str]:
    """Split ``ordered`` into (kept, deferred, summary) so one apply stays within the caps:
    customers changed, suspensions and cancellations. Changes that depend on a deferred change
    are deferred too. ``summary`` is "" when nothing was deferred."""
    kept: list[actions.Change] = []
    deferred: list[actions.Change] = []
    deferred_ids: set[str] = set()
    customers: set[str] = set()
    counts = {A.SUSPEND: 0, A.CANCEL: 0}
    caps = {
        A.SUSPEND: policy.max_suspensions_per_apply,
        A.CANCEL: policy.max_cancellations_per_apply,
    }
    hit: dict[str, int] = {}
    for c in ordered:
        why = ""
        if any(d in deferred_ids for d in c.depends_on):
            why = "depends on a deferred change"
        elif c.applicable:
            cust = c.address.customer_id
            if cust not in customers and len(customers) >= policy.max_customers_per_apply:
                why = f"maxCustomersPerApply={policy.max_customers_per_apply}"
            elif c.action in counts and counts[c.action] >= caps[c.action]:
                name = (
                    "maxSuspensionsPerApply"
                    if c.action is A.SUSPEND
                    else "maxCancellationsPerApply"
                )
                why = f"{name}={caps[c.action]}"
        if why:
            deferred.append(c)
            deferred_ids.add(c.id)
            hit[why] = hit.get(why, 0) + 1
            continue
        if c.applicable:
            customers.add(c.address.customer_id)
            if c.action in counts:
                counts[c.action] += 1
        kept.append(c)
    summary = ", ".join(f"{n} by {why}" for why, n in sorted(hit.items()))
    return kept, deferred, summary
