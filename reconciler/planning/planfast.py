"""The fast path of reading a plan document (``planning.planread``): a change or a strategy
read with plain type checks, no JSON paths and no function per field. It accepts nothing the
checked reader refuses: anything that does not fit raises ``Odd`` (or ``KeyError``,
``TypeError``, ``ValueError``), and the checked reader decides and names the place."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from reconciler.planning import actions
from reconciler.planning import planshape as shape


class Odd(Exception):
    """Something the fast path does not accept: the checked reader decides."""


_ACTIONS = {a.value: a for a in actions.Action}
_REASONS = {r.value: r for r in actions.Reason}
_STRATEGIES = {s.value: s for s in actions.Strategy}
_ROUTES = {r.value: r for r in actions.Route}
_SCALARS = (str, int, bool)


def _str(value: Any) -> str:
    if type(value) is not str:
        raise Odd
    return value


def _opt_str(value: Any) -> str | None:
    if value is not None and type(value) is not str:
        raise Odd
    return value


def _strs_fast(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is not list or any(type(x) is not str for x in value):
        raise Odd
    return tuple(value)


def _scalars_fast(value: Any) -> Mapping[str, actions.Scalar] | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise Odd
    for v in value.values():
        if v is not None and type(v) not in _SCALARS:
            raise Odd
    return MappingProxyType(dict(value))


def _at(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(_str(value))


def change(
    d: Any, customer: tuple[str, str], snapshot: Mapping[str, Any] | None, now: datetime
) -> actions.Change:
    if type(d) is not dict:
        raise Odd
    g = d.get
    tenant, sid = _str(g("tenant")), _opt_str(g("subscription_id"))
    before = g("before")
    if before == shape.BEFORE_FROM_SNAPSHOT:
        item = shape.snapshot_item(snapshot, tenant, sid)
        if item is None:
            raise Odd
        before = shape.before_of(sid or "", item)
    gate, overlap, deadlines = g("gate"), g("overlap"), g("deadlines")
    if gate is not None:
        if type(gate) is not dict:
            raise Odd
        gate = actions.Gate(
            _str(gate.get("waiting_on")),
            _str(gate.get("what")),
            _opt_str(gate.get("url")),
            _opt_str(gate.get("message")),
        )
    if overlap is not None:
        if type(overlap) is not dict:
            raise Odd
        days = overlap.get("days")
        if days is not None and type(days) is not int:
            raise Odd
        start = _at(overlap["target_bills_from"]) if "target_bills_from" in overlap else now
        end = _at(overlap["source_bills_until"]) if "source_bills_until" in overlap else start
        overlap = actions.Overlap(days, start, end, _str(overlap.get("note")))
    if deadlines is None:
        deadlines = ()
    elif type(deadlines) is not list:
        raise Odd
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
    picked = g("strategy")
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
        strategy=None if picked is None else _STRATEGIES[picked],
        overlap=overlap,
        deadlines=deadlines,
    )


def _odd() -> Any:
    raise Odd


def strategy(
    p: Any, customer: tuple[str, str], usual: Mapping[shape.Kind, shape.Why]
) -> actions.PairStrategy:
    """A strategy (its explanation from ``usual`` when it has no ``why``)."""
    if type(p) is not dict:
        raise Odd
    g = p.get
    commerce, route, action = _str(g("commerce")), _ROUTES[_str(g("route"))], g("action")
    chosen = None if action is None else _STRATEGIES[action]
    if "why" in p:
        rejected = g("rejected")
        if rejected is None:
            rejected = []
        elif type(rejected) is not list:
            raise Odd
        why: shape.Why = (
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
        action=chosen,
        rejected=why[1],
    )
