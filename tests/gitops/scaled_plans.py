"""Plans of any size built from the planner's real output (a module of its own: ``conftest``
is not importable by name reliably when several test directories have one)."""

from __future__ import annotations

import dataclasses

from reconciler.planning import actions


def scaled(plan: actions.Plan, customers: int, per_customer: int) -> actions.Plan:
    """``customers`` copies of the demo plan's customers with ``per_customer`` changes each.

    Built from the planner's real output (dataclasses.replace), not by planning 50,000
    subscriptions, which would take a minute.
    """
    templates = [c for c in plan.changes if c.action is not actions.Action.NOOP]
    entry = plan.customers[0]
    entries, changes = [], []
    for i in range(customers):
        tid = f"3f2c6d55-0000-4000-8000-{i:012x}"
        name = f"Customer {i:05d} GmbH"
        entries.append(dataclasses.replace(entry, tenant_id=tid, name=name))
        for j in range(per_customer):
            t = templates[(i + j) % len(templates)]
            address = dataclasses.replace(t.address, customer_id=tid, customer_name=name)
            changes.append(
                dataclasses.replace(t, id=f"{i}-{j}", address=address, depends_on=(), blocked_by=())
            )
    return dataclasses.replace(
        plan, customers=tuple(entries), changes=tuple(changes), diagnostics=(), azure_ready=()
    )
