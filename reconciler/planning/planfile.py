"""The plan document as JSON-ready data: ``to_dict(plan)`` and ``from_dict(data)``.

Pure dict <-> Plan: reading and writing files (atomically) is the CLI's job. The format is
documented in docs/plan-format.md §8; ``FORMAT_VERSION`` changes whenever a consumer would
have to. Version 2 carries nothing twice: one section per customer holds its strategies and
changes, a field holding its default is left out, a ``before`` that copies the snapshot is
the string ``"snapshot"``, and an explanation strategies share is written once. ``summary``
is written for consumers (policy checks) and recomputed on read, never trusted. Reading is
``planning.planread``; any malformed document raises ``errors.PlanFileError`` with one clear
paragraph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from reconciler import errors
from reconciler.planning import actions, gcpause, planread
from reconciler.planning import planshape as shape

T = TypeVar("T")
#: ``before`` written as this string: the subscription's fields in the customer's snapshot.
BEFORE_FROM_SNAPSHOT = shape.BEFORE_FROM_SNAPSHOT


def _dt(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


# ------------------------------------------------------------------------------------------
# The customer's snapshot, without default fields.


def _is_default(key: str, value: Any, fields: tuple[str, ...]) -> bool:
    if key not in fields:
        return False
    return (value == []) if key in shape.LIST_FIELDS else value is None


def _pack_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """One tenant's snapshot without the fields that hold their default."""
    ok = view.get("read") == "ok"
    out: dict[str, Any] = {}
    for key, value in view.items():
        fields = shape.KINDS.get(key)
        if fields is None or not isinstance(value, Mapping):
            out[key] = value
        elif value or not ok:
            out[key] = {
                ident: {k: v for k, v in item.items() if not _is_default(k, v, fields)}
                if isinstance(item, Mapping)
                else item
                for ident, item in value.items()
            }
    return out


# ------------------------------------------------------------------------------------------
# Writing: one section per customer; a field holding its default is left out.


def _same(a: datetime | None, b: datetime | None) -> bool:
    """The same instant written the same way (10:00+01:00 is 09:00+00:00, but not in text)."""
    if a is None or b is None:
        return a is b
    return a == b and a.utcoffset() == b.utcoffset()


def _overlap(o: actions.Overlap, now: datetime) -> dict[str, Any]:
    """``target_bills_from`` is left out when it is the plan's ``created_at``, and
    ``source_bills_until`` when it is ``target_bills_from`` (same day); ``null`` stands for an
    unknown or open-ended date, ``days`` is left out when open-ended."""
    d: dict[str, Any] = {} if o.days is None else {"days": o.days}
    if not _same(o.target_bills_from, now):
        d["target_bills_from"] = _dt(o.target_bills_from)
    if not _same(o.source_bills_until, o.target_bills_from):
        d["source_bills_until"] = _dt(o.source_bills_until)
    d["note"] = o.note
    return d


def _change(c: actions.Change, snapshot: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    a = c.address
    d: dict[str, Any] = {"id": c.id, "action": c.action.value}
    if c.applicable:
        d["applicable"] = True
    d["tenant"] = a.tenant
    if a.subscription_id is not None:
        d["subscription_id"] = a.subscription_id
    if a.key is not None:
        d["key"] = a.key
    d["reason"] = c.reason.value
    d["detail"] = c.detail
    if c.strategy is not None:
        d["strategy"] = c.strategy.value
    if c.before is not None:
        item = shape.snapshot_item(snapshot, a.tenant, a.subscription_id)
        same = item is not None and shape.before_of(a.subscription_id or "", item) == c.before
        d["before"] = shape.BEFORE_FROM_SNAPSHOT if same else dict(c.before)
    if c.after is not None:
        d["after"] = dict(c.after)
    if c.depends_on:
        d["depends_on"] = list(c.depends_on)
    if c.blocked_by:
        d["blocked_by"] = list(c.blocked_by)
    if (g := c.gate) is not None:
        d["gate"] = {
            "waiting_on": g.waiting_on,
            "what": g.what,
            **({} if g.url is None else {"url": g.url}),
            **({} if g.message is None else {"message": g.message}),
        }
    if (o := c.overlap) is not None:
        d["overlap"] = _overlap(o, now)
    if c.deadlines:
        d["deadlines"] = [
            {"kind": x.kind, "at": _dt(x.at), **({"note": x.note} if x.note else {})}
            for x in c.deadlines
        ]
    return d


def _kind(p: actions.PairStrategy) -> shape.Kind:
    return p.commerce, p.route.value, p.action.value if p.action is not None else None


def _explanations(strategies: Iterable[actions.PairStrategy]) -> dict[shape.Kind, shape.Why]:
    """Per commerce, route and action, the explanation most of its strategies share (when
    two or more do; ties go to the first in text order): written once in ``explanations``
    and left out of those strategies."""
    counts: dict[shape.Kind, dict[shape.Why, int]] = {}
    for p in strategies:
        per = counts.setdefault(_kind(p), {})
        why = (p.why, p.rejected)
        per[why] = per.get(why, 0) + 1
    usual: dict[shape.Kind, shape.Why] = {}
    for kind, per in counts.items():
        why, n = min(per.items(), key=lambda x: (-x[1], x[0][0], [r.why for r in x[0][1]]))
        if n > 1:
            usual[kind] = why
    return usual


def _rejected(rejected: Iterable[actions.Rejected]) -> list[dict[str, str]]:
    return [{"route": r.route.value, "why": r.why} for r in rejected]


def _explanation(kind: shape.Kind, why: shape.Why) -> dict[str, Any]:
    commerce, route, action = kind
    d: dict[str, Any] = {"commerce": commerce, "route": route}
    if action is not None:
        d["action"] = action
    d["why"] = why[0]
    if why[1]:
        d["rejected"] = _rejected(why[1])
    return d


def _strategy(p: actions.PairStrategy, usual: Mapping[shape.Kind, shape.Why]) -> dict[str, Any]:
    d: dict[str, Any] = {
        "tenant": p.tenant,
        "subscription_id": p.subscription_id,
        "key": p.key,
        "commerce": p.commerce,
        "route": p.route.value,
    }
    if p.action is not None:
        d["action"] = p.action.value
    if usual.get(_kind(p)) != (p.why, p.rejected):
        d["why"] = p.why
        if p.rejected:
            d["rejected"] = _rejected(p.rejected)
    return d


def _section(
    entry: actions.CustomerEntry,
    strategies: Sequence[actions.PairStrategy],
    changes: Sequence[actions.Change],
    deferred: Sequence[actions.Change],
    usual: Mapping[shape.Kind, shape.Why],
    now: datetime,
) -> dict[str, Any]:
    d: dict[str, Any] = {"tenant_id": entry.tenant_id, "name": entry.name, "source": entry.source}
    if entry.sources:
        d["sources"] = list(entry.sources)
    d["status"] = entry.status.value
    d["fingerprint"] = entry.fingerprint
    snapshot = entry.snapshot
    if snapshot is not None:
        d["snapshot"] = {tenant: _pack_view(view) for tenant, view in snapshot.items()}
    if strategies:
        d["strategies"] = [_strategy(p, usual) for p in strategies]
    if changes:
        d["changes"] = [_change(c, snapshot, now) for c in changes]
    if deferred:
        d["deferred"] = [_change(c, snapshot, now) for c in deferred]
    return d


def _grouped(
    items: Iterable[T],
    who: Callable[[T], tuple[str, str]],
    names: Mapping[str, tuple[int, str]],
    what: str,
) -> dict[str, list[T]]:
    """``items`` by customer id; they must follow the customers' order (as the planner
    makes them), so that reading the sections back gives the same sequence."""
    groups: dict[str, list[T]] = {}
    last = -1
    for item in items:
        customer_id, customer_name = who(item)
        rank, name = names.get(customer_id, (-1, ""))
        if rank < last or name != customer_name:
            raise errors.PlanError(
                f"The plan's {what} of {customer_name} ({customer_id}) do not follow its "
                "customers (each in its own customer's section, in customer order), so it "
                "cannot be written; this is a bug in reconciler's planner, please report it."
            )
        last = rank
        groups.setdefault(customer_id, []).append(item)
    return groups


def _by_kind(item: tuple[shape.Kind, shape.Why]) -> tuple[str, str, str]:
    commerce, route, action = item[0]
    return commerce, route, action or ""


def _address_of(c: actions.Change) -> tuple[str, str]:
    return c.address.customer_id, c.address.customer_name


def _pair_of(p: actions.PairStrategy) -> tuple[str, str]:
    return p.customer_id, p.customer_name


def summary(plan: actions.Plan) -> dict[str, Any]:
    """Counts a policy check can read without walking the changes."""
    return {
        "outcome": plan.outcome,
        "by_action": plan.counts(),
        "applicable": sum(1 for c in plan.changes if c.applicable),
        "gates": sum(1 for c in plan.changes if c.action.is_gate),
        "deferred": len(plan.deferred),
        "errors": sum(1 for d in plan.diagnostics if d.severity is actions.Severity.ERROR),
        "warnings": sum(1 for d in plan.diagnostics if d.severity is actions.Severity.WARNING),
        "customers": len(plan.customers),
        "unmanaged": len(plan.unmanaged),
    }


def to_dict(plan: actions.Plan, *, lazy: bool = False) -> dict[str, Any]:
    """The plan as a JSON-ready dict (keys in a fixed order). ``lazy``: ``customers`` is an
    iterator that builds each customer's section when it is reached, so a writer streaming
    the document never holds all of it (``rendering.jsondoc.chunks``). ``PlanError`` when
    the plan's changes or strategies do not follow its customers (a planner bug)."""
    with gcpause.paused():
        return _to_dict(plan, lazy)


def _to_dict(plan: actions.Plan, lazy: bool) -> dict[str, Any]:
    names = {c.tenant_id: (i, c.name) for i, c in enumerate(plan.customers)}
    strategies = _grouped(plan.strategies, _pair_of, names, "strategies")
    changes = _grouped(plan.changes, _address_of, names, "changes")
    deferred = _grouped(plan.deferred, _address_of, names, "deferred changes")
    usual = _explanations(plan.strategies)
    sections: Iterator[dict[str, Any]] = (
        _section(
            c,
            strategies.get(c.tenant_id, ()),
            changes.get(c.tenant_id, ()),
            deferred.get(c.tenant_id, ()),
            usual,
            plan.created_at,
        )
        for c in plan.customers
    )
    return {
        "format": shape.FORMAT,
        "format_version": plan.format_version,
        "tool": {"name": "reconciler", "version": plan.tool_version},
        "created_at": _dt(plan.created_at),
        "consolidation": plan.consolidation,
        "target": plan.target,
        "inputs_digest": plan.inputs_digest,
        "live_read_at": _dt(plan.live_read_at),
        "scope": {k: list(v) if isinstance(v, tuple) else v for k, v in plan.scope.items()},
        "summary": summary(plan),
        "explanations": [
            _explanation(kind, why) for kind, why in sorted(usual.items(), key=_by_kind)
        ],
        "customers": sections if lazy else list(sections),
        "unmanaged": [
            {
                "tenant": u.tenant,
                "customer_id": u.customer_id,
                "customer_name": u.customer_name,
                "subscription_id": u.subscription_id,
                "offer_id": u.offer_id,
                "friendly_name": u.friendly_name,
                "quantity": u.quantity,
                "status": u.status,
            }
            for u in plan.unmanaged
        ],
        "diagnostics": [
            {
                "severity": d.severity.value,
                "code": d.code,
                **({} if d.customer_id is None else {"customer_id": d.customer_id}),
                "message": d.message,
            }
            for d in plan.diagnostics
        ],
        "azure_ready": list(plan.azure_ready),
    }


def from_dict(data: Any, *, source: str = "the plan file") -> actions.Plan:
    """The Plan in ``data`` (parsed JSON); ``PlanFileError`` names what is wrong and where."""
    if not isinstance(data, Mapping) or data.get("format") != shape.FORMAT:
        raise errors.PlanFileError(
            f'{source} is not a reconciler plan (no "format": "{shape.FORMAT}"); write one '
            "with `reconciler plan --out FILE`."
        )
    version = data.get("format_version")
    if version != actions.FORMAT_VERSION:
        older = type(version) is int and version < actions.FORMAT_VERSION
        raise errors.PlanFileError(
            f"{source} has plan format version {version!r}, "
            + ("written by an older reconciler; " if older else "")
            + f"this reconciler reads version {actions.FORMAT_VERSION} only, so nothing "
            "was read. Run `reconciler plan --out FILE` again with this version, review the "
            "new plan, and use that file."
        )
    try:
        with gcpause.paused():
            return planread.read(data)
    except planread.Bad as exc:
        raise errors.PlanFileError(
            f"{source} is damaged: {exc}. Re-run `reconciler plan --out FILE` to write a new "
            "one; never edit plan files by hand."
        ) from None
