"""Order the changes (a topological sort over ``depends_on``, ties broken by customer, the
action's rank (``verbs.Facts.rank``) and address so the order is deterministic; graphlib names
any cycle), and push changes beyond the policy caps to a later apply (``Plan.deferred``).

Pure: sequences of changes in, sequences of changes out.
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping, Sequence

from reconciler import errors, model
from reconciler.planning import actions

A = actions.Action
_Key = tuple[int, int, str, str, str, str]


def _key(c: actions.Change, rank: Mapping[str, int], ranks: Mapping[A, int]) -> _Key:
    """The sort key: customer, the action's rank (``ranks``: ``verbs.Facts.rank`` by action),
    manifest key, subscription id, action, id."""
    a = c.address
    return (
        rank.get(a.customer_id, len(rank)),
        ranks[c.action],
        a.key or "",
        a.subscription_id or "",
        c.action,
        c.id,
    )


def order(changes: Sequence[actions.Change], rank: Mapping[str, int]) -> list[actions.Change]:
    """Topological order of ``changes`` over ``depends_on``, as close to the sort key
    (customer, action rank, address) as the dependencies allow.

    Changes are taken in key order; one whose dependencies are not all placed yet waits and is
    placed right after its last dependency (Kahn's algorithm seeded by the sort, linear after
    the sort). A cycle is a bug in the planner: ``graphlib`` names it in the error.
    """
    by_id = {c.id: c for c in changes}
    # Read from the facts on every call (an action without facts cannot be ordered).
    ranks = {action: action.facts.rank for action in {c.action for c in changes}}
    placed: set[str] = set()
    waiting: dict[str, list[actions.Change]] = {}
    missing: dict[str, int] = {}
    result: list[actions.Change] = []

    def place(c: actions.Change) -> None:
        stack = [c]
        while stack:
            cur = stack.pop()
            result.append(cur)
            placed.add(cur.id)
            released = []
            for w in waiting.pop(cur.id, ()):
                missing[w.id] -= 1
                if missing[w.id] == 0:
                    released.append(w)
            # Keep the sort order among the released ones (the stack pops the last first).
            stack.extend(sorted(released, key=lambda x: _key(x, rank, ranks), reverse=True))

    for c in sorted(changes, key=lambda c: _key(c, rank, ranks)):
        pending = [d for d in c.depends_on if d in by_id and d not in placed]
        if not pending:
            place(c)
            continue
        missing[c.id] = len(pending)
        for d in pending:
            waiting.setdefault(d, []).append(c)
    if len(result) != len(changes):
        _raise_cycle(changes, by_id)
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
    for c in ordered:
        why = ""
        if deferred_ids and any(d in deferred_ids for d in c.depends_on):
            why = "depends on a deferred change"
        elif c.applicable:
            cust = c.address.customer_id
            if cust not in customers and len(customers) >= policy.max_customers_per_apply:
                why = f"maxCustomersPerApply={policy.max_customers_per_apply}"
            elif (cap := c.action.facts.cap) and counts.get(c.action, 0) >= cap.limit(policy):
                why = f"{cap.setting}={cap.limit(policy)}"
        if why:
            deferred.append(c)
            deferred_ids.add(c.id)
            hit[why] = hit.get(why, 0) + 1
            continue
        if c.applicable:
            customers.add(c.address.customer_id)
            counts[c.action] = counts.get(c.action, 0) + 1
        kept.append(c)
    summary = ", ".join(f"{n} by {why}" for why, n in sorted(hit.items()))
    return kept, deferred, summary
