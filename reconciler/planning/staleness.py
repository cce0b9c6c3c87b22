"""What moved since a saved plan was made: the per-customer live snapshot the plan keeps (as
Terraform's plan keeps the prior state), and the sentences that name each moved field.

The snapshot holds the same decision-relevant fields the fingerprint hashes
(``planning.fingerprint``), as JSON-ready values keyed by tenant and by id, so ``deepdiff``
can say exactly what differs: "Fabrikam GmbH: subscription …d001 quantity 25 → 30; status
active → suspended". The fingerprint stays the judge of *whether* a customer moved (plans
written before snapshots existed have none); the snapshot explains *what* moved.

Pure: values in, strings out (``deepdiff`` is an in-memory comparison library).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from deepdiff import DeepDiff

from reconciler import model
from reconciler.planning import actions, fingerprint

#: Field of a subscription snapshot -> the words a user reads for it.
_SUB_FIELDS = {
    "offer": "offer",
    "friendly_name": "name",
    "quantity": "quantity",
    "status": "status",
    "auto_renew": "auto-renew",
    "term_end": "term end",
    "cancellable_until": "cancellation window until",
    "refundable": "refundable seats",
    "entitlement": "entitlement",
}
_TRANSFER_FIELDS = {
    "status": "status",
    "source_partner": "source partner",
    "target_partner": "target partner",
    "expires": "expiry",
    "lines": "lines",
}
#: ``(tenant,)`` or ``(tenant, "subscriptions" | "transfers", id)``.
_Key = tuple[str, ...]
_READ = {
    "ok": "a customer",
    "no_relationship": "not a customer",
    "absent": "not a customer",
    "unknown": "unreadable",
}


def customer_snapshot(
    customer_id: str, tenants: Sequence[str], live: model.LiveState
) -> dict[str, Any]:
    """The live fields of ``customer_id`` that decisions depend on, per tenant named (built
    with its fingerprint by ``fingerprint.customer_state``)."""
    return fingerprint.customer_state(customer_id, tenants, live)[1]


def _short(identifier: str) -> str:
    return "…" + identifier[-4:] if len(identifier) > 4 else identifier


def _show(value: object) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _moved_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[_Key, set[str]]:
    """``deepdiff`` of two snapshots as ``{(tenant,): {"read"}}`` for a tenant whose read
    status changed and ``{(tenant, kind, id): {field, ...}}`` for a subscription or transfer
    (an empty set: it appeared or went away)."""
    diff = DeepDiff(dict(old), dict(new), view="tree")
    moved: dict[_Key, set[str]] = {}
    for levels in diff.tree.values():
        for level in levels:
            path = [str(p) for p in level.path(output_format="list")]
            if not path:
                continue
            if len(path) < 2 or path[1] == "read":
                moved[(path[0],)] = {"read"}
            elif len(path) == 3:
                moved.setdefault((path[0], path[1], path[2]), set())
            elif len(path) > 3:  # a field, or an element of a list field (lines, refundable)
                moved.setdefault((path[0], path[1], path[2]), set()).add(path[3])
    return moved


def _phrase(kind: str, ident: str, was: Any, now: Any, fields: set[str]) -> str:
    noun = "subscription" if kind == "subscriptions" else "transfer"
    subject = f"{noun} {_short(ident)}"
    if was is None:
        if kind == "subscriptions":
            return f"{subject} appeared ({now['quantity']} × {now['offer']}, {now['status']})"
        return f"{subject} appeared ({now['status']})"
    if now is None:
        return f"{subject} is gone (was {was['status']})"
    labels = _SUB_FIELDS if kind == "subscriptions" else _TRANSFER_FIELDS
    changes = [
        f"{label} {_show(was.get(key))} → {_show(now.get(key))}"
        for key, label in labels.items()
        if key in fields
    ]
    return f"{subject} " + ("; ".join(changes) or "changed")


def describe_moves(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """One phrase per moved thing between two snapshots of one customer (empty if none), in
    a stable order: tenant, then subscriptions before transfers, then id."""
    moved = _moved_fields(old, new)
    absent: dict[str, Any] = {"read": "absent"}
    out: list[str] = []
    for key in sorted(moved):
        tenant = key[0]
        was, now = old.get(tenant, absent), new.get(tenant, absent)
        if len(key) == 1:
            before, after = _READ.get(was.get("read"), "?"), _READ.get(now.get("read"), "?")
            out.append(f"in {tenant}: {before} → {after}")
        elif (tenant,) not in moved:  # a read change already says it all
            kind, ident = key[1], key[2]
            item_was, item_now = was[kind].get(ident), now[kind].get(ident)
            out.append(_phrase(kind, ident, item_was, item_now, moved[key]))
    return out


def stale_message(plan: actions.Plan, live: model.LiveState) -> tuple[str, list[str]] | None:
    """``None`` when no customer of ``plan`` moved; otherwise the refusal's text, naming per
    customer what moved, and the moved customers' tenant ids."""
    moved = fingerprint.moved_customers(plan, live)
    if not moved:
        return None
    lines = []
    for c in moved:
        details: list[str] = []
        if c.snapshot is not None:
            now = customer_snapshot(c.tenant_id, c.tenants(plan.target), live)
            details = describe_moves(c.snapshot, now)
        what = "; ".join(details) if details else "live state moved"
        lines.append(f"  {c.name} ({c.tenant_id}): {what}")
    text = (
        "The saved plan is stale: live state moved since it was made. Nothing was changed. "
        "Run `reconciler plan --out FILE` again, review it, and apply the new file.\n"
        + "\n".join(lines)
    )
    return text, [c.tenant_id for c in moved]
