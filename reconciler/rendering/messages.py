"""The ready-to-send messages of a plan's gates: one block per recipient.

For the people an operator must write to: each customer's Global Admin (the reseller
invitation, with its URL) and Microsoft support (the Azure hand-off, one message listing the
company names that are ready). Reads only the plan document; prints nothing.
"""

from __future__ import annotations

from reconciler import escaping
from reconciler.planning import actions

A = actions.Action
_RULE = "-" * 72


def render(plan: actions.Plan) -> str:
    """Every gate message, customers' first, then one consolidated note to Microsoft."""
    blocks: list[str] = []
    seen: set[tuple[str, str]] = set()
    for change in plan.changes:
        gate = change.gate
        if change.action is not A.INVITE or gate is None or not gate.message:
            continue
        key = (change.address.customer_id, gate.message)
        if key in seen:
            continue
        seen.add(key)
        name = change.address.customer_name
        who = escaping.visible(f"{name} ({change.address.customer_id})")
        # The letter has lines of its own; the company name inside it must not add any.
        letter = gate.message.replace(name, escaping.visible(name)) if name else gate.message
        blocks.append(f"To: the Global Administrator of {who}\n\n{letter}")
    azure = [
        c.gate.message
        for c in plan.changes
        if c.action is A.AZURE_HANDOFF
        and c.gate is not None
        and c.gate.message
        and not c.blocked_by
    ]
    if azure:
        body = "\n".join(f"- {escaping.visible(m)}" for m in dict.fromkeys(azure))
        blocks.append(
            "To: Microsoft support (Partner Center service request)\n\n"
            f"These customers are ready for their Azure subscriptions to be moved:\n{body}"
        )
    if not blocks:
        return "No messages to send: no invitation or Azure hand-off is waiting.\n"
    return f"\n{_RULE}\n".join(blocks) + "\n"
