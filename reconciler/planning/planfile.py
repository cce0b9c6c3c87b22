"""The plan document as JSON-ready data: ``to_dict(plan)`` and ``from_dict(data)``.

Pure dict <-> Plan: reading and writing files (atomically) is the CLI's job. The format is
documented in docs/plan-format.md; ``FORMAT_VERSION`` changes whenever a consumer would have
to. ``summary`` is written for consumers (policy checks) and recomputed on read, never
trusted. Any malformed document raises ``errors.PlanFileError`` with one clear paragraph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from reconciler import errors
from reconciler.planning import actions, gcpause

T = TypeVar("T")
_FORMAT = "reconciler-plan"


def _dt(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


# ------------------------------------------------------------------------------------------
# The customer's snapshot, without default fields.

#: A snapshot's subscription and transfer fields (``planning.staleness``), in their order.
_SUB_FIELDS = (
    "offer",
    "friendly_name",
    "quantity",
    "status",
    "auto_renew",
    "term_end",
    "cancellable_until",
    "refundable",
    "entitlement",
)
_TRANSFER_FIELDS = ("status", "source_partner", "target_partner", "expires", "lines")
#: Fields whose default is ``[]``; every other field of an item defaults to ``null``.
_LIST_FIELDS = frozenset({"refundable", "lines"})
#: A tenant's view read as ``ok`` holds these maps (id -> item), ``{}`` by default.
_KINDS = {"subscriptions": _SUB_FIELDS, "transfers": _TRANSFER_FIELDS}


def _is_default(key: str, value: Any, fields: tuple[str, ...]) -> bool:
    if key not in fields:
        return False
    return (value == []) if key in _LIST_FIELDS else value is None


def _pack_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """One tenant's snapshot without the fields that hold their default."""
    ok = view.get("read") == "ok"
    out: dict[str, Any] = {}
    for key, value in view.items():
        fields = _KINDS.get(key)
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


def _before_of(sid: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """The ``before`` of a change to subscription ``sid``, from its snapshot ``item``
    (``planning.builder.subscription_fields``, in that order)."""
    return {
        "subscription_id": sid,
        "offer_id": item.get("offer"),
        "friendly_name": item.get("friendly_name"),
        "quantity": item.get("quantity"),
        "status": item.get("status"),
        "auto_renew": item.get("auto_renew"),
    }


#: ``before`` written as this string: the fields of the change's subscription in the
#: customer's snapshot (its tenant, its ``subscription_id``).
BEFORE_FROM_SNAPSHOT = "snapshot"


def _snapshot_item(
    snapshot: Mapping[str, Any] | None, tenant: str, sid: str | None
) -> Mapping[str, Any] | None:
    if snapshot is None or sid is None:
        return None
    view = snapshot.get(tenant)
    subs = view.get("subscriptions") if isinstance(view, Mapping) else None
    item = subs.get(sid) if isinstance(subs, Mapping) else None
    return item if isinstance(item, Mapping) else None


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
        item = _snapshot_item(snapshot, a.tenant, a.subscription_id)
        same = item is not None and _before_of(a.subscription_id or "", item) == c.before
        d["before"] = BEFORE_FROM_SNAPSHOT if same else dict(c.before)
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


#: What ``explanations`` groups strategies by: commerce, route and action.
_Kind = tuple[str, str, str | None]
#: A strategy's explanation: its ``why`` and its rejected routes.
_Why = tuple[str, tuple[actions.Rejected, ...]]


def _kind(p: actions.PairStrategy) -> _Kind:
    return p.commerce, p.route.value, p.action.value if p.action is not None else None


def _explanations(strategies: Iterable[actions.PairStrategy]) -> dict[_Kind, _Why]:
    """Per commerce, route and action, the explanation most of its strategies share (when
    two or more do; ties go to the first in text order): written once in ``explanations``
    and left out of those strategies."""
    counts: dict[_Kind, dict[_Why, int]] = {}
    for p in strategies:
        per = counts.setdefault(_kind(p), {})
        why = (p.why, p.rejected)
        per[why] = per.get(why, 0) + 1
    usual: dict[_Kind, _Why] = {}
    for kind, per in counts.items():
        why, n = min(per.items(), key=lambda x: (-x[1], x[0][0], [r.why for r in x[0][1]]))
        if n > 1:
            usual[kind] = why
    return usual


def _rejected(rejected: Iterable[actions.Rejected]) -> list[dict[str, str]]:
    return [{"route": r.route.value, "why": r.why} for r in rejected]


def _explanation(kind: _Kind, why: _Why) -> dict[str, Any]:
    commerce, route, action = kind
    d: dict[str, Any] = {"commerce": commerce, "route": route}
    if action is not None:
        d["action"] = action
    d["why"] = why[0]
    if why[1]:
        d["rejected"] = _rejected(why[1])
    return d


def _strategy(p: actions.PairStrategy, usual: Mapping[_Kind, _Why]) -> dict[str, Any]:
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
    usual: Mapping[_Kind, _Why],
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


def _by_kind(item: tuple[_Kind, _Why]) -> tuple[str, str, str]:
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
        "format": _FORMAT,
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


# ------------------------------------------------------------------------------------------
# Reading: every accessor names the field it failed on.


class _Bad(Exception):
    pass


_MISSING: Any = object()


def _get(data: Mapping[str, Any], key: str, kind: type[T], where: str) -> T:
    # Parsed JSON holds plain dicts: isinstance(..., dict) is much faster than Mapping.
    value = data.get(key, _MISSING) if isinstance(data, dict) else _MISSING
    if value is _MISSING:
        raise _Bad(f"{where}.{key} is missing")
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise _Bad(f"{where}.{key} should be {kind.__name__}")


def _opt(data: Mapping[str, Any], key: str, kind: type[T], where: str) -> T | None:
    if data.get(key) is None:
        return None
    return _get(data, key, kind, where)


def _when(data: Mapping[str, Any], key: str, where: str) -> datetime | None:
    raw = _opt(data, key, str, where)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise _Bad(f"{where}.{key} is not an ISO 8601 date-time") from None


def _when_req(data: Mapping[str, Any], key: str, where: str) -> datetime:
    at = _when(data, key, where)
    if at is None:
        raise _Bad(f"{where}.{key} is missing")
    return at


def _enum(data: Mapping[str, Any], key: str, kind: Callable[[str], T], where: str) -> T:
    raw = _get(data, key, str, where)
    try:
        return kind(raw)
    except ValueError:
        raise _Bad(f"{where}.{key} has the unknown value {raw!r}") from None


def _opt_enum(data: Mapping[str, Any], key: str, kind: Callable[[str], T], where: str) -> T | None:
    return None if data.get(key) is None else _enum(data, key, kind, where)


def _scalars(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, actions.Scalar] | None:
    raw = _opt(data, key, dict, where)
    if raw is None:
        return None
    for k, v in raw.items():
        if not isinstance(v, str | int | bool) and v is not None:
            raise _Bad(f"{where}.{key}.{k} should be a string, number, boolean or null")
    return MappingProxyType(dict(raw))


def _item(raw: Any, fields: tuple[str, ...], where: str) -> dict[str, Any]:
    """A snapshot item with its left-out fields back at their defaults, in field order."""
    item = _get({"i": raw}, "i", dict, where)
    _get(item, "status", str, where)
    out = {f: item.get(f, [] if f in _LIST_FIELDS else None) for f in fields}
    out.update((k, v) for k, v in item.items() if k not in out)
    return out


def _snapshot(data: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
    """The optional per-tenant live snapshot (planning.staleness), checked for its shape and
    with the fields left out at their defaults put back."""
    raw = _opt(data, "snapshot", dict, where)
    if raw is None:
        return None
    out: dict[str, Any] = {}
    for tenant, view in raw.items():
        at = f"{where}.snapshot.{tenant}"
        read = _get(view, "read", str, at)
        full: dict[str, Any] = {"read": read}
        for kind, fields in _KINDS.items():
            items = _opt(view, kind, dict, at)
            if items is None and read != "ok":
                continue
            full[kind] = {
                ident: _item(item, fields, f"{at}.{kind}.{ident}")
                for ident, item in (items or {}).items()
            }
        full.update((k, v) for k, v in view.items() if k not in full)
        out[tenant] = full
    return out


def _sources(data: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """The optional list of every source tenant of a customer held in several."""
    if data.get("sources") is None:
        return ()
    return _strs(data, "sources", where)


def _strs(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    raw = _get(data, key, list, where)
    if not all(isinstance(x, str) for x in raw):
        raise _Bad(f"{where}.{key} should be a list of strings")
    return tuple(raw)


def _opt_strs(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    return () if data.get(key) is None else _strs(data, key, where)


def _items(data: Mapping[str, Any], key: str, where: str) -> list[tuple[Any, str]]:
    """The optional list ``key`` of ``data`` (absent: empty), each item with its path."""
    return [(x, f"{where}.{key}[{i}]") for i, x in enumerate(_opt(data, key, list, where) or ())]


def _before(
    a: Mapping[str, Any],
    where: str,
    tenant: str,
    sid: str | None,
    snapshot: Mapping[str, Any] | None,
) -> Mapping[str, actions.Scalar] | None:
    if a.get("before") != BEFORE_FROM_SNAPSHOT:
        return _scalars(a, "before", where)
    item = _snapshot_item(snapshot, tenant, sid)
    if item is None:
        raise _Bad(
            f'{where}.before is "{BEFORE_FROM_SNAPSHOT}", but the customer\'s snapshot holds '
            f"no subscription {sid} in {tenant}"
        )
    return _scalars({"before": _before_of(sid or "", item)}, "before", where)


def _read_overlap(o: Mapping[str, Any], where: str, now: datetime) -> actions.Overlap:
    start = _when(o, "target_bills_from", where) if "target_bills_from" in o else now
    end = _when(o, "source_bills_until", where) if "source_bills_until" in o else start
    return actions.Overlap(_opt(o, "days", int, where), start, end, _get(o, "note", str, where))


def _read_change_checked(
    d: Any,
    where: str,
    customer: tuple[str, str],
    snapshot: Mapping[str, Any] | None,
    now: datetime,
) -> actions.Change:
    a = _get({"a": d}, "a", dict, where)
    gate = _opt(a, "gate", dict, where)
    overlap = _opt(a, "overlap", dict, where)
    tenant = _get(a, "tenant", str, where)
    sid = _opt(a, "subscription_id", str, where)
    return actions.Change(
        id=_get(a, "id", str, where),
        action=_enum(a, "action", actions.Action, where),
        address=actions.Address(tenant, *customer, sid, _opt(a, "key", str, where)),
        reason=_enum(a, "reason", actions.Reason, where),
        detail=_get(a, "detail", str, where),
        before=_before(a, where, tenant, sid, snapshot),
        after=_scalars(a, "after", where),
        depends_on=_opt_strs(a, "depends_on", where),
        blocked_by=_opt_strs(a, "blocked_by", where),
        gate=None
        if gate is None
        else actions.Gate(
            _get(gate, "waiting_on", str, where + ".gate"),
            _get(gate, "what", str, where + ".gate"),
            _opt(gate, "url", str, where + ".gate"),
            _opt(gate, "message", str, where + ".gate"),
        ),
        strategy=_opt_enum(a, "strategy", actions.Strategy, where),
        overlap=None if overlap is None else _read_overlap(overlap, where + ".overlap", now),
        deadlines=tuple(
            actions.Deadline(
                _get(x, "kind", str, at),
                _when_req(x, "at", at),
                _opt(x, "note", str, at) or "",
            )
            for x, at in _items(a, "deadlines", where)
        ),
    )


def _read(data: Mapping[str, Any]) -> actions.Plan:
    w = "$"
    scope_raw = _get(data, "scope", dict, w)
    scope = {k: tuple(v) if isinstance(v, list) else v for k, v in scope_raw.items()}
    tool = _get(data, "tool", dict, w)
    created_at = _when_req(data, "created_at", w)
    usual = _read_explanations(data, w)
    customers: list[actions.CustomerEntry] = []
    strategies: list[actions.PairStrategy] = []
    changes: list[actions.Change] = []
    deferred: list[actions.Change] = []
    for i, raw in enumerate(_get(data, "customers", list, w)):
        at = f"$.customers[{i}]"
        c = _get({"c": raw}, "c", dict, at)
        who = (_get(c, "tenant_id", str, at), _get(c, "name", str, at))
        snapshot = _snapshot(c, at)
        customers.append(
            actions.CustomerEntry(
                *who,
                _get(c, "source", str, at),
                _enum(c, "status", actions.CustomerStatus, at),
                _get(c, "fingerprint", str, at),
                snapshot,
                _sources(c, at),
            )
        )
        for j, p in enumerate(_opt(c, "strategies", list, at) or ()):
            strategies.append(_read_strategy(p, at, j, who, usual))
        for key, into in (("changes", changes), ("deferred", deferred)):
            for j, x in enumerate(_opt(c, key, list, at) or ()):
                into.append(_read_change(x, f"{at}.{key}", j, who, snapshot, created_at))
    return actions.Plan(
        tool_version=_get(tool, "version", str, w + ".tool"),
        created_at=created_at,
        consolidation=_get(data, "consolidation", str, w),
        target=_get(data, "target", str, w),
        inputs_digest=_get(data, "inputs_digest", str, w),
        live_read_at=_when_req(data, "live_read_at", w),
        customers=tuple(customers),
        strategies=tuple(strategies),
        changes=tuple(changes),
        deferred=tuple(deferred),
        unmanaged=tuple(
            _read_unmanaged(u, f"$.unmanaged[{i}]")
            for i, u in enumerate(_get(data, "unmanaged", list, w))
        ),
        diagnostics=tuple(
            actions.Diagnostic(
                _enum(d, "severity", actions.Severity, f"$.diagnostics[{i}]"),
                _get(d, "code", str, f"$.diagnostics[{i}]"),
                _get(d, "message", str, f"$.diagnostics[{i}]"),
                _opt(d, "customer_id", str, f"$.diagnostics[{i}]"),
            )
            for i, d in enumerate(_get(data, "diagnostics", list, w))
        ),
        azure_ready=_strs(data, "azure_ready", w),
        format_version=_get(data, "format_version", int, w),
        scope=MappingProxyType(scope),
    )


def _read_kind(p: Mapping[str, Any], w: str) -> _Kind:
    action = _opt_enum(p, "action", actions.Strategy, w)
    return (
        _get(p, "commerce", str, w),
        _enum(p, "route", actions.Route, w).value,
        action.value if action is not None else None,
    )


def _read_why(p: Mapping[str, Any], w: str) -> _Why:
    return _get(p, "why", str, w), tuple(
        actions.Rejected(_enum(r, "route", actions.Route, rw), _get(r, "why", str, rw))
        for r, rw in _items(p, "rejected", w)
    )


def _read_explanations(data: Mapping[str, Any], w: str) -> dict[_Kind, _Why]:
    usual: dict[_Kind, _Why] = {}
    for e, ew in _items(data, "explanations", w):
        usual[_read_kind(e, ew)] = _read_why(e, ew)
    return usual


def _read_strategy_checked(
    p: Any, w: str, customer: tuple[str, str], usual: Mapping[_Kind, _Why]
) -> actions.PairStrategy:
    kind = _read_kind(p, w)
    if "why" in p:
        why, rejected = _read_why(p, w)
    elif kind in usual:
        why, rejected = usual[kind]
    else:
        raise _Bad(
            f"{w}.why is missing, and $.explanations has none for {' '.join(filter(None, kind))}"
        )
    return actions.PairStrategy(
        tenant=_get(p, "tenant", str, w),
        customer_id=customer[0],
        customer_name=customer[1],
        subscription_id=_get(p, "subscription_id", str, w),
        key=_get(p, "key", str, w),
        commerce=kind[0],
        route=actions.Route(kind[1]),
        why=why,
        action=None if kind[2] is None else actions.Strategy(kind[2]),
        rejected=rejected,
    )


# ------------------------------------------------------------------------------------------
# Fast paths: a change or strategy read with plain type checks and no path strings, the
# checked reader above running only when something does not fit (it names the place, or
# reads the same value). A plan of the documented maximum holds 200,000 changes.


class _Odd(Exception):
    """Something the fast path does not accept: the checked reader decides."""


_ACTIONS = {a.value: a for a in actions.Action}
_REASONS = {r.value: r for r in actions.Reason}
_STRATEGIES = {s.value: s for s in actions.Strategy}
_ROUTES = {r.value: r for r in actions.Route}
_SCALARS = (str, int, bool)


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _Odd
    return value


def _opt_str(value: Any) -> str | None:
    if value is not None and type(value) is not str:
        raise _Odd
    return value


def _strs_fast(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is not list or any(type(x) is not str for x in value):
        raise _Odd
    return tuple(value)


def _scalars_fast(value: Any) -> Mapping[str, actions.Scalar] | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise _Odd
    for v in value.values():
        if v is not None and type(v) not in _SCALARS:
            raise _Odd
    return MappingProxyType(dict(value))


def _at(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(_str(value))


def _change_fast(
    d: Any, customer: tuple[str, str], snapshot: Mapping[str, Any] | None, now: datetime
) -> actions.Change:
    if type(d) is not dict:
        raise _Odd
    g = d.get
    tenant, sid = _str(g("tenant")), _opt_str(g("subscription_id"))
    before = g("before")
    if before == BEFORE_FROM_SNAPSHOT:
        item = _snapshot_item(snapshot, tenant, sid)
        if item is None:
            raise _Odd
        before = _before_of(sid or "", item)
    gate, overlap, deadlines = g("gate"), g("overlap"), g("deadlines")
    if gate is not None:
        if type(gate) is not dict:
            raise _Odd
        gate = actions.Gate(
            _str(gate.get("waiting_on")),
            _str(gate.get("what")),
            _opt_str(gate.get("url")),
            _opt_str(gate.get("message")),
        )
    if overlap is not None:
        if type(overlap) is not dict:
            raise _Odd
        days = overlap.get("days")
        if days is not None and type(days) is not int:
            raise _Odd
        start = _at(overlap["target_bills_from"]) if "target_bills_from" in overlap else now
        end = _at(overlap["source_bills_until"]) if "source_bills_until" in overlap else start
        overlap = actions.Overlap(days, start, end, _str(overlap.get("note")))
    if deadlines is None:
        deadlines = ()
    elif type(deadlines) is not list:
        raise _Odd
    else:
        deadlines = tuple(
            actions.Deadline(
                _str(x.get("kind")),
                datetime.fromisoformat(_str(x.get("at"))),
                _opt_str(x.get("note")) or "",
            )
            if type(x) is dict
            else _odd()
            for x in deadlines
        )
    strategy = g("strategy")
    return actions.Change(
        id=_str(g("id")),
        action=_ACTIONS[_str(g("action"))],
        address=actions.Address(tenant, *customer, sid, _opt_str(g("key"))),
        reason=_REASONS[_str(g("reason"))],
        detail=_str(g("detail")),
        before=_scalars_fast(before),
        after=_scalars_fast(g("after")),
        depends_on=_strs_fast(g("depends_on")),
        blocked_by=_strs_fast(g("blocked_by")),
        gate=gate,
        strategy=None if strategy is None else _STRATEGIES[strategy],
        overlap=overlap,
        deadlines=deadlines,
    )


def _odd() -> Any:
    raise _Odd


def _read_change(
    d: Any,
    where: str,
    index: int,
    customer: tuple[str, str],
    snapshot: Mapping[str, Any] | None,
    now: datetime,
) -> actions.Change:
    try:
        return _change_fast(d, customer, snapshot, now)
    except (_Odd, KeyError, TypeError, ValueError):
        return _read_change_checked(d, f"{where}[{index}]", customer, snapshot, now)


def _read_strategy(
    p: Any, where: str, index: int, customer: tuple[str, str], usual: Mapping[_Kind, _Why]
) -> actions.PairStrategy:
    try:
        if type(p) is not dict:
            raise _Odd
        g = p.get
        commerce, route, action = _str(g("commerce")), _ROUTES[_str(g("route"))], g("action")
        strategy = None if action is None else _STRATEGIES[action]
        if "why" in p:
            rejected = g("rejected")
            if rejected is None:
                rejected = []
            elif type(rejected) is not list:
                raise _Odd
            why: _Why = (
                _str(g("why")),
                tuple(
                    actions.Rejected(_ROUTES[_str(r.get("route"))], _str(r.get("why")))
                    if type(r) is dict
                    else _odd()
                    for r in rejected
                ),
            )
        else:
            why = usual[(commerce, route.value, action)]
        return actions.PairStrategy(
            tenant=_str(g("tenant")),
            customer_id=customer[0],
            customer_name=customer[1],
            subscription_id=_str(g("subscription_id")),
            key=_str(g("key")),
            commerce=commerce,
            route=route,
            why=why[0],
            action=strategy,
            rejected=why[1],
        )
    except (_Odd, KeyError, TypeError, ValueError):
        return _read_strategy_checked(p, f"{where}.strategies[{index}]", customer, usual)


def _read_unmanaged(u: Any, w: str) -> actions.Unmanaged:
    return actions.Unmanaged(
        tenant=_get(u, "tenant", str, w),
        customer_id=_get(u, "customer_id", str, w),
        customer_name=_get(u, "customer_name", str, w),
        subscription_id=_get(u, "subscription_id", str, w),
        offer_id=_get(u, "offer_id", str, w),
        friendly_name=_get(u, "friendly_name", str, w),
        quantity=_get(u, "quantity", int, w),
        status=_get(u, "status", str, w),
    )


def from_dict(data: Any, *, source: str = "the plan file") -> actions.Plan:
    """The Plan in ``data`` (parsed JSON); ``PlanFileError`` names what is wrong and where."""
    if not isinstance(data, Mapping) or data.get("format") != _FORMAT:
        raise errors.PlanFileError(
            f'{source} is not a reconciler plan (no "format": "{_FORMAT}"); write one '
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
            return _read(data)
    except _Bad as exc:
        raise errors.PlanFileError(
            f"{source} is damaged: {exc}. Re-run `reconciler plan --out FILE` to write a new "
            "one; never edit plan files by hand."
        ) from None
