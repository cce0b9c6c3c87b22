"""Reading the plan document (``planfile.from_dict``): every field checked, and a damaged
document refused with the JSON path of what is wrong (``Bad``). Each change and strategy is
read by the fast path first (``planning.planfast``: plain type checks, no path strings; a
plan of the documented maximum holds 200,000 changes); the checked reader here runs only when
something does not fit, and names the place (or reads the same value)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from reconciler.planning import actions, planfast
from reconciler.planning import planshape as shape

T = TypeVar("T")


class Bad(Exception):
    """What is wrong with the document, and where (a JSON path)."""


_MISSING: Any = object()


def _get(data: Mapping[str, Any], key: str, kind: type[T], where: str) -> T:
    # Parsed JSON holds plain dicts: isinstance(..., dict) is much faster than Mapping.
    value = data.get(key, _MISSING) if isinstance(data, dict) else _MISSING
    if value is _MISSING:
        raise Bad(f"{where}.{key} is missing")
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise Bad(f"{where}.{key} should be {kind.__name__}")


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
        raise Bad(f"{where}.{key} is not an ISO 8601 date-time") from None


def _when_req(data: Mapping[str, Any], key: str, where: str) -> datetime:
    at = _when(data, key, where)
    if at is None:
        raise Bad(f"{where}.{key} is missing")
    return at


def _enum(data: Mapping[str, Any], key: str, kind: Callable[[str], T], where: str) -> T:
    raw = _get(data, key, str, where)
    try:
        return kind(raw)
    except ValueError:
        raise Bad(f"{where}.{key} has the unknown value {raw!r}") from None


def _opt_enum(data: Mapping[str, Any], key: str, kind: Callable[[str], T], where: str) -> T | None:
    return None if data.get(key) is None else _enum(data, key, kind, where)


def _scalars(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, actions.Scalar] | None:
    raw = _opt(data, key, dict, where)
    if raw is None:
        return None
    for k, v in raw.items():
        if not isinstance(v, str | int | bool) and v is not None:
            raise Bad(f"{where}.{key}.{k} should be a string, number, boolean or null")
    return MappingProxyType(dict(raw))


def _item(raw: Any, fields: tuple[str, ...], where: str) -> dict[str, Any]:
    """A snapshot item with its left-out fields back at their defaults, in field order."""
    item = _get({"i": raw}, "i", dict, where)
    _get(item, "status", str, where)
    out = {f: item.get(f, [] if f in shape.LIST_FIELDS else None) for f in fields}
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
        for kind, fields in shape.KINDS.items():
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
        raise Bad(f"{where}.{key} should be a list of strings")
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
    if a.get("before") != shape.BEFORE_FROM_SNAPSHOT:
        return _scalars(a, "before", where)
    item = shape.snapshot_item(snapshot, tenant, sid)
    if item is None:
        raise Bad(
            f'{where}.before is "{shape.BEFORE_FROM_SNAPSHOT}", but the customer\'s snapshot holds '
            f"no subscription {sid} in {tenant}"
        )
    return _scalars({"before": shape.before_of(sid or "", item)}, "before", where)


def _read_overlap(o: Mapping[str, Any], where: str, now: datetime) -> actions.Overlap:
    start = _when(o, "target_bills_from", where) if "target_bills_from" in o else now
    end = _when(o, "source_bills_until", where) if "source_bills_until" in o else start
    return actions.Overlap(_opt(o, "days", int, where), start, end, _get(o, "note", str, where))


def read_change_checked(
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


def read(data: Mapping[str, Any]) -> actions.Plan:
    w = "$"
    scope_raw = _get(data, "scope", dict, w)
    scope = {k: tuple(v) if isinstance(v, list) else v for k, v in scope_raw.items()}
    tool = _get(data, "tool", dict, w)
    created_at = _when_req(data, "created_at", w)
    usual = read_explanations(data, w)
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
            strategies.append(read_strategy(p, at, j, who, usual))
        for key, into in (("changes", changes), ("deferred", deferred)):
            for j, x in enumerate(_opt(c, key, list, at) or ()):
                into.append(read_change(x, f"{at}.{key}", j, who, snapshot, created_at))
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


def _read_kind(p: Mapping[str, Any], w: str) -> shape.Kind:
    action = _opt_enum(p, "action", actions.Strategy, w)
    return (
        _get(p, "commerce", str, w),
        _enum(p, "route", actions.Route, w).value,
        action.value if action is not None else None,
    )


def _read_why(p: Mapping[str, Any], w: str) -> shape.Why:
    return _get(p, "why", str, w), tuple(
        actions.Rejected(_enum(r, "route", actions.Route, rw), _get(r, "why", str, rw))
        for r, rw in _items(p, "rejected", w)
    )


def read_explanations(data: Mapping[str, Any], w: str) -> dict[shape.Kind, shape.Why]:
    usual: dict[shape.Kind, shape.Why] = {}
    for e, ew in _items(data, "explanations", w):
        usual[_read_kind(e, ew)] = _read_why(e, ew)
    return usual


def read_strategy_checked(
    p: Any, w: str, customer: tuple[str, str], usual: Mapping[shape.Kind, shape.Why]
) -> actions.PairStrategy:
    kind = _read_kind(p, w)
    if "why" in p:
        why, rejected = _read_why(p, w)
    elif kind in usual:
        why, rejected = usual[kind]
    else:
        raise Bad(
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


def read_change(
    d: Any,
    where: str,
    index: int,
    customer: tuple[str, str],
    snapshot: Mapping[str, Any] | None,
    now: datetime,
) -> actions.Change:
    """The change at ``where[index]``: the fast path, or the checked reader naming the place."""
    try:
        return planfast.change(d, customer, snapshot, now)
    except (planfast.Odd, KeyError, TypeError, ValueError):
        return read_change_checked(d, f"{where}[{index}]", customer, snapshot, now)


def read_strategy(
    p: Any, where: str, index: int, customer: tuple[str, str], usual: Mapping[shape.Kind, shape.Why]
) -> actions.PairStrategy:
    """The strategy at ``where.strategies[index]``: the fast path, or the checked reader."""
    try:
        return planfast.strategy(p, customer, usual)
    except (planfast.Odd, KeyError, TypeError, ValueError):
        return read_strategy_checked(p, f"{where}.strategies[{index}]", customer, usual)


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
