"""The planner's output, pinned: a digest of the whole in-memory plan (every field of every
change, deferred change, strategy, diagnostic, unmanaged subscription and customer entry with
its fingerprint and snapshot, in order) for fixed generated worlds, so that a speed-up of the
planning core that changes what a plan says (a change, its order, id, reason, strategy,
detail, a warning) fails here, whatever the plan document's format (issue 14: "without
changing the plan").

The digests were computed from the planner before the core was optimised. After an intended
change of behaviour, regenerate them with
``RECONCILER_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/planning/test_plan_digest.py``
and say in the commit why the plans changed.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

import big_world
import demo_world
import pytest
import varied_world

from reconciler import model
from reconciler.planning import actions, planner

HERE = Path(__file__).resolve().parent
DIGESTS = HERE / "plan_digests.json"
UPDATE = os.environ.get("RECONCILER_UPDATE_GOLDEN") == "1"


def canonical(value: object) -> object:
    """``value`` as nested tuples of plain values: dataclasses field by field (with their
    type's name), enums as (type, value), mappings in their order, datetimes in ISO form."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (
            type(value).__name__,
            tuple((f.name, canonical(getattr(value, f.name))) for f in fields),
        )
    if isinstance(value, enum.Enum):
        return (type(value).__name__, value.value)
    if isinstance(value, Mapping):
        return ("map", tuple((k, canonical(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", tuple(canonical(v) for v in value))
    if isinstance(value, tuple):
        return tuple(canonical(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"no canonical form for {type(value).__name__}: {value!r}")


def digest(plan: actions.Plan) -> str:
    # The saved document's format version (2 since the compact sections) is not the
    # planner's output: the digests were pinned under version 1 and stay comparable.
    plan = dataclasses.replace(plan, format_version=1)
    return hashlib.sha256(repr(canonical(plan)).encode()).hexdigest()


def _plan(state: model.DesiredState, live: model.LiveState, **kw: object) -> actions.Plan:
    return planner.build_plan(state, live, now=big_world.NOW, tool_version="0.0.0-digest", **kw)


def _big() -> actions.Plan:
    return _plan(*big_world.make(300, 4))


def _demo(accepted: bool) -> Callable[[], actions.Plan]:
    def plan() -> actions.Plan:
        state = demo_world.desired()
        live = demo_world.accepted(state) if accepted else demo_world.live_state(state)
        return _plan(state, live)

    return plan


def _varied(seed: int, **kw: object) -> Callable[[], actions.Plan]:
    return lambda: _plan(*varied_world.make(seed, 60), **kw)


WORLDS: dict[str, Callable[[], actions.Plan]] = {
    "big_world 300x4": _big,
    "demo pending": _demo(False),
    "demo accepted": _demo(True),
    **{f"varied {seed}": _varied(seed) for seed in range(8)},
    "varied 8, source fr": _varied(8, source="fr"),
}


def _stored() -> dict[str, str]:
    return json.loads(DIGESTS.read_text(encoding="utf-8")) if DIGESTS.exists() else {}


@pytest.mark.parametrize("world", list(WORLDS))
def test_the_plan_of_a_fixed_world_is_unchanged(world):
    plan = WORLDS[world]()
    found = digest(plan)
    if UPDATE:
        stored = _stored()
        stored[world] = found
        DIGESTS.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert world in _stored(), f"no digest for {world}: run with RECONCILER_UPDATE_GOLDEN=1"
    assert found == _stored()[world], (
        f"the plan of {world} changed ({len(plan.changes)} changes); if that is intended, "
        "regenerate with RECONCILER_UPDATE_GOLDEN=1 and explain why in the commit"
    )


def test_the_varied_worlds_reach_what_they_are_meant_to():
    # The digest guards only what the worlds exercise: check they reach every action, every
    # route, skipped customers, deferred changes and the usual warnings.
    plans = [WORLDS[f"varied {seed}"]() for seed in range(8)]
    changes = [c for p in plans for c in (*p.changes, *p.deferred)]
    seen = {c.action for c in changes}
    assert seen == set(actions.Action)
    assert {s.route for p in plans for s in p.strategies} == set(actions.Route)
    assert any(p.deferred for p in plans)
    assert any(c.status is actions.CustomerStatus.SKIPPED for p in plans for c in p.customers)
    codes = {d.code for p in plans for d in p.diagnostics}
    assert codes >= {
        "state-unknown",
        "billing-overlap",
        "deadline-soon",
        "cap-deferred",
        "policy-move-by",
        "drift-quantity",
        "transfer-ineligible",
        "ambiguous-match",
        "agreement-unknown",
        "seats-below-sources",
    }


def test_the_digest_sees_a_one_character_change():
    plan = WORLDS["demo accepted"]()
    last = plan.changes[-1]
    moved = dataclasses.replace(last, detail=last.detail + ".")
    other = dataclasses.replace(plan, changes=(*plan.changes[:-1], moved))
    assert digest(other) != digest(plan)
