"""The plan document as JSON-ready data: ``to_dict(plan)`` and ``from_dict(data)``.

Pure dict <-> Plan: reading and writing files (atomically) is the CLI's job. The format is
documented in docs/plan-format.md; ``FORMAT_VERSION`` changes whenever a consumer would have
to. ``summary`` is written for consumers (policy checks) and recomputed on read, never
trusted. Any malformed document raises ``errors.PlanFileError`` with one clear paragraph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from reconciler import errors
from reconciler.planning import actions, gcpause

T = TypeVar("T")
_FORMAT = "reconciler-plan"


def _dt(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _change(c: actions.Change) -> dict[str, Any]:
    a = c.address
    return {
        "id": c.id,
        "action": c.action.value,
        "applicable": c.applicable,
        "address": {
            "tenant": a.tenant,
            "customer_id": a.customer_id,
            "customer_name": a.customer_name,
            "subscription_id": a.subscription_id,
            "key": a.key,
        },
        "reason": c.reason.value,
        "detail": c.detail,
        "strategy": c.strategy,
        "before": dict(c.before) if c.before is not None else None,
        "after": dict(c.after) if c.after is not None else None,
        "depends_on": list(c.depends_on),
        "blocked_by": list(c.blocked_by),
        "gate": None
        if c.gate is None
        else {
            "waiting_on": c.gate.waiting_on,
            "what": c.gate.what,
            "url": c.gate.url,
            "message": c.gate.message,
        },
        "overlap": None
        if c.overlap is None
        else {
            "days": c.overlap.days,
            "target_bills_from": _dt(c.overlap.target_bills_from),
            "source_bills_until": _dt(c.overlap.source_bills_until),
            "note": c.overlap.note,
        },
        "deadlines": [{"kind": d.kind, "at": _dt(d.at), "note": d.note} for d in c.deadlines],
    }


def _strategy(p: actions.PairStrategy) -> dict[str, Any]:
    return {
        "tenant": p.tenant,
        "customer_id": p.customer_id,
        "customer_name": p.customer_name,
        "subscription_id": p.subscription_id,
        "key": p.key,
        "commerce": p.commerce,
        "route": p.route.value,
        "action": p.action.value if p.action else None,
        "why": p.why,
        "rejected": [{"route": r.route.value, "why": r.why} for r in p.rejected],
    }


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
    """The plan as a JSON-ready dict (keys in a fixed order). ``lazy``: ``customers``,
    ``changes`` and ``deferred`` are iterators that build each item when it is reached, so a
    writer streaming the document never holds all of it (``rendering.jsondoc.chunks``)."""
    with gcpause.paused():
        return _to_dict(plan, list if not lazy else iter)


def _to_dict(plan: actions.Plan, seq: Callable[[Iterator[Any]], Iterable[Any]]) -> dict[str, Any]:
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
        "customers": seq(
            {
                "tenant_id": c.tenant_id,
                "name": c.name,
                "source": c.source,
                "status": c.status.value,
                "fingerprint": c.fingerprint,
                **({"sources": list(c.sources)} if c.sources else {}),
                **({} if c.snapshot is None else {"snapshot": c.snapshot}),
            }
            for c in plan.customers
        ),
        "strategies": seq(_strategy(p) for p in plan.strategies),
        "changes": seq(_change(c) for c in plan.changes),
        "deferred": seq(_change(c) for c in plan.deferred),
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
                "customer_id": d.customer_id,
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


def _get(data: Mapping[str, Any], key: str, kind: type[T], where: str) -> T:
    if not isinstance(data, Mapping) or key not in data:
        raise _Bad(f"{where}.{key} is missing")
    value = data[key]
    if kind is int and isinstance(value, bool):
        raise _Bad(f"{where}.{key} should be {kind.__name__}")
    if not isinstance(value, kind):
        raise _Bad(f"{where}.{key} should be {kind.__name__}")
    return value


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


def _snapshot(data: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
    """The optional per-tenant live snapshot (planning.staleness), checked for its shape."""
    raw = _opt(data, "snapshot", dict, where)
    if raw is None:
        return None
    for tenant, view in raw.items():
        at = f"{where}.snapshot.{tenant}"
        _get(view, "read", str, at)
        for kind in ("subscriptions", "transfers"):
            items = _opt(view, kind, dict, at) or {}
            for ident, item in items.items():
                _get(item, "status", str, f"{at}.{kind}.{ident}")
    return raw


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


def _read_change(d: Any, where: str) -> actions.Change:
    a = _get({"a": d}, "a", dict, where)
    addr = _get(a, "address", dict, where)
    aw = where + ".address"
    gate = _opt(a, "gate", dict, where)
    overlap = _opt(a, "overlap", dict, where)
    return actions.Change(
        id=_get(a, "id", str, where),
        action=_enum(a, "action", actions.Action, where),
        address=actions.Address(
            _get(addr, "tenant", str, aw),
            _get(addr, "customer_id", str, aw),
            _get(addr, "customer_name", str, aw),
            _opt(addr, "subscription_id", str, aw),
            _opt(addr, "key", str, aw),
        ),
        reason=_enum(a, "reason", actions.Reason, where),
        detail=_get(a, "detail", str, where),
        before=_scalars(a, "before", where),
        after=_scalars(a, "after", where),
        depends_on=_strs(a, "depends_on", where),
        blocked_by=_strs(a, "blocked_by", where),
        gate=None
        if gate is None
        else actions.Gate(
            _get(gate, "waiting_on", str, where + ".gate"),
            _get(gate, "what", str, where + ".gate"),
            _opt(gate, "url", str, where + ".gate"),
            _opt(gate, "message", str, where + ".gate"),
        ),
        strategy=_opt_enum(a, "strategy", actions.Strategy, where),
        overlap=None
        if overlap is None
        else actions.Overlap(
            _opt(overlap, "days", int, where + ".overlap"),
            _when(overlap, "target_bills_from", where + ".overlap"),
            _when(overlap, "source_bills_until", where + ".overlap"),
            _get(overlap, "note", str, where + ".overlap"),
        ),
        deadlines=tuple(
            actions.Deadline(
                _get(x, "kind", str, f"{where}.deadlines[{i}]"),
                _when_req(x, "at", f"{where}.deadlines[{i}]"),
                _get(x, "note", str, f"{where}.deadlines[{i}]"),
            )
            for i, x in enumerate(_get(a, "deadlines", list, where))
        ),
    )


def _read(data: Mapping[str, Any]) -> actions.Plan:
    w = "$"
    scope_raw = _get(data, "scope", dict, w)
    scope = {k: tuple(v) if isinstance(v, list) else v for k, v in scope_raw.items()}
    tool = _get(data, "tool", dict, w)
    return actions.Plan(
        tool_version=_get(tool, "version", str, w + ".tool"),
        created_at=_when_req(data, "created_at", w),
        consolidation=_get(data, "consolidation", str, w),
        target=_get(data, "target", str, w),
        inputs_digest=_get(data, "inputs_digest", str, w),
        live_read_at=_when_req(data, "live_read_at", w),
        customers=tuple(
            actions.CustomerEntry(
                _get(c, "tenant_id", str, f"$.customers[{i}]"),
                _get(c, "name", str, f"$.customers[{i}]"),
                _get(c, "source", str, f"$.customers[{i}]"),
                _enum(c, "status", actions.CustomerStatus, f"$.customers[{i}]"),
                _get(c, "fingerprint", str, f"$.customers[{i}]"),
                _snapshot(c, f"$.customers[{i}]"),
                _sources(c, f"$.customers[{i}]"),
            )
            for i, c in enumerate(_get(data, "customers", list, w))
        ),
        # Plans written before strategies existed have none: the key is optional.
        strategies=tuple(
            _read_strategy(p, f"$.strategies[{i}]")
            for i, p in enumerate(_opt(data, "strategies", list, w) or ())
        ),
        changes=tuple(
            _read_change(c, f"$.changes[{i}]") for i, c in enumerate(_get(data, "changes", list, w))
        ),
        deferred=tuple(
            _read_change(c, f"$.deferred[{i}]")
            for i, c in enumerate(_get(data, "deferred", list, w))
        ),
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


def _read_strategy(p: Any, w: str) -> actions.PairStrategy:
    return actions.PairStrategy(
        tenant=_get(p, "tenant", str, w),
        customer_id=_get(p, "customer_id", str, w),
        customer_name=_get(p, "customer_name", str, w),
        subscription_id=_get(p, "subscription_id", str, w),
        key=_get(p, "key", str, w),
        commerce=_get(p, "commerce", str, w),
        route=_enum(p, "route", actions.Route, w),
        why=_get(p, "why", str, w),
        action=_opt_enum(p, "action", actions.Strategy, w),
        rejected=tuple(
            actions.Rejected(
                _enum(r, "route", actions.Route, f"{w}.rejected[{j}]"),
                _get(r, "why", str, f"{w}.rejected[{j}]"),
            )
            for j, r in enumerate(_get(p, "rejected", list, w))
        ),
    )


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
        raise errors.PlanFileError(
            f"{source} has plan format version {version!r}, but this reconciler reads version "
            f"{actions.FORMAT_VERSION}; re-run `reconciler plan` with this version."
        )
    try:
        with gcpause.paused():
            return _read(data)
    except _Bad as exc:
        raise errors.PlanFileError(
            f"{source} is damaged: {exc}. Re-run `reconciler plan --out FILE` to write a new "
            "one; never edit plan files by hand."
        ) from None
