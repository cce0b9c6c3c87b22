"""Order the changes (a topological sort over ``depends_on``, ties broken by customer, the
action's rank (``verbs.Facts.rank``) and address so the order is deterministic; graphlib names
any cycle), and push changes beyond the policy caps to a later apply (``Plan.deferred``).

Pure: sequences of changes in, sequences of changes out.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler import errors, model
from reconciler.planning import actions, verbs

A = actions.Action


def order(changes: Sequence[actions.Change], rank: Mapping[str, int]) -> list[actions.Change]:
    """Topological order of ``changes`` over ``depends_on``, as close to the sort key
    (customer, action rank, address) as the dependencies allow.

    Changes are taken in key order; one whose dependencies are not all placed yet waits and is
    placed right after its last dependency (Kahn's algorithm seeded by the sort, linear after
    the sort). A cycle is a bug in the planner: ``graphlib`` names it in the error.
    """
    return _order(changes, rank, _ranks())


def order_by_customer(groups: Iterable[Sequence[actions.Change]]) -> list[actions.Change]:
    """``order`` of all the changes of ``groups``, where each group is one customer's changes
    (the planner's: one builder per customer) and the groups come in the plan's customer order
    (``rank`` of ``order``: the planner plans its customers in that order).

    The same order as ``order`` over them all at once: the sort key puts customers first, and
    a customer's changes depend only on its own (its builder made every id they name), so no
    change waits across customers. Ordered per customer for speed: the sets and dicts stay
    small, the sort sorts short lists, and the key leaves out the customer (the same for all).
    """
    ranks = _ranks()
    result: list[actions.Change] = []
    for group in groups:
        result.extend(_order(group, None, ranks))
    return result


def _ranks() -> dict[actions.Action, int]:
    """Each action's rank, read from the facts on every call (an action without facts cannot
    be ordered: ``ranks[c.action]`` raises KeyError)."""
    return {action: facts.rank for action, facts in verbs.FACTS.items()}


def _order(
    changes: Sequence[actions.Change],
    rank: Mapping[str, int] | None,
    ranks: Mapping[actions.Action, int],
) -> list[actions.Change]:
    """``order``; ``rank`` None: ``changes`` are one customer's (``order_by_customer``)."""
    # The sort key of each change: customer, the action's rank, manifest key, subscription id,
    # action, id, then its index in ``changes`` (never reached: ids are unique). Built in one
    # pass and sorted as they are: written for speed (no key function called per change).
    if rank is None:
        # One customer: the customer part of the key is the same for every change, left out.
        keys: list[tuple[Any, ...]] = [
            (
                ranks[c.action],
                (a := c.address).key or "",
                a.subscription_id or "",
                c.action,
                c.id,
                i,
            )
            for i, c in enumerate(changes)
        ]
    else:
        unranked = len(rank)
        rank_of = rank.get
        keys = [
            (
                rank_of((a := c.address).customer_id, unranked),
                ranks[c.action],
                a.key or "",
                a.subscription_id or "",
                c.action,
                c.id,
                i,
            )
            for i, c in enumerate(changes)
        ]
    keys.sort()
    # In key order; from here on a change is named by its position in that order, so the
    # changes released together are put back in key order by sorting positions.
    ordered = [changes[k[-1]] for k in keys]
    #: The ids of ``changes``, made only when a dependency is not placed yet (a dependency on
    #: an id outside ``changes`` is ignored).
    ids: set[str] | None = None
    placed: set[str] = set()
    waiting: dict[str, list[int]] = {}
    missing: dict[int, int] = {}
    result: list[actions.Change] = []
    for position, c in enumerate(ordered):
        deps = c.depends_on
        if deps:
            pending = 0
            for d in deps:
                if d in placed:
                    continue
                if ids is None:
                    ids = {x.id for x in changes}
                if d in ids:
                    pending += 1
                    waiting.setdefault(d, []).append(position)
            if pending:
                missing[position] = pending
                continue
        result.append(c)
        placed.add(c.id)
        if c.id not in waiting:
            continue
        # Then every change that waited for it and nothing else (depth first, in key order).
        stack = [position]
        while stack:
            at = stack.pop()
            cur = ordered[at]
            if at != position:
                result.append(cur)
                placed.add(cur.id)
            if cur.id not in waiting:
                continue
            released = []
            for w in waiting.pop(cur.id):
                missing[w] -= 1
                if missing[w] == 0:
                    released.append(w)
            # The stack pops the last first: the smallest position last.
            stack.extend(sorted(released, reverse=True))
    if len(result) != len(changes):
        _raise_cycle(changes, {c.id: c for c in changes})
    return result


def _raise_cycle(changes: Sequence[actions.Change], by_id: Mapping[str, actions.Change]) -> None:
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for c in changes:
        sorter.add(c.id, *(d for d in c.depends_on if d in by_id))
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(f"{by_id[i].action.value} {by_id[i].address}" for i in exc.args[1])
        raise errors.PlanError(
            f"The planned changes depend on each other in a cycle ({cycle}); this is a bug in "
            "reconciler's planner, please report it with the manifests involved."
        ) from None
    raise errors.PlanError("The planned changes could not be ordered; this is a bug in reconciler.")


def apply_caps(
    ordered: Sequence[actions.Change], policy: model.Policy
) -> tuple[list[actions.Change], list[actions.Change], str]:
    """Split ``ordered`` into (kept, deferred, summary) so one apply stays within the caps:
    customers changed, and each action's own (``verbs.Facts.cap``: suspensions,
    cancellations). Changes that depend on a deferred change are deferred too. ``summary``
    is "" when nothing was deferred."""
    kept: list[actions.Change] = []
    deferred: list[actions.Change] = []
    deferred_ids: set[str] = set()
    customers: set[str] = set()
    counts: dict[actions.Action, int] = {}
    hit: dict[str, int] = {}
    # ``Change.applicable``, and each capped action's limit with the reason a change beyond
    # it is deferred for, read from the facts once per call (an action without facts raises
    # KeyError): written for speed, once per change below.
    writes = {action: facts.kind is verbs.Kind.WRITE for action, facts in verbs.FACTS.items()}
    limits: dict[actions.Action, tuple[int, str] | None] = {}
    for action, facts in verbs.FACTS.items():
        cap = facts.cap
        limits[action] = (cap.limit(policy), f"{cap.setting}={cap.limit(policy)}") if cap else None
    max_customers = policy.max_customers_per_apply
    too_many_customers = f"maxCustomersPerApply={max_customers}"
    for c in ordered:
        why = ""
        action = c.action
        applicable = writes[action] and not c.blocked_by
        if deferred_ids and not deferred_ids.isdisjoint(c.depends_on):
            why = "depends on a deferred change"
        elif applicable:
            cust = c.address.customer_id
            if cust not in customers and len(customers) >= max_customers:
                why = too_many_customers
            elif (limit := limits[action]) and counts.get(action, 0) >= limit[0]:
                why = limit[1]
        if why:
            deferred.append(c)
            deferred_ids.add(c.id)
            hit[why] = hit.get(why, 0) + 1
            continue
        if applicable:
            customers.add(c.address.customer_id)
            counts[action] = counts.get(action, 0) + 1
        kept.append(c)
    summary = ", ".join(f"{n} by {why}" for why, n in sorted(hit.items()))
    return kept, deferred, summary
