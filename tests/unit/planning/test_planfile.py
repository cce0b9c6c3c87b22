"""Saved plans: round trip, and a clear PlanFileError for anything else."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import demo_world as w
import pytest

from reconciler import errors
from reconciler.planning import actions, fingerprint, planfile, planner, planread


@pytest.fixture(scope="module")
def doc() -> dict:
    state = w.desired()
    return planfile.to_dict(planner.build_plan(state, w.accepted(state), now=w.NOW))


def test_round_trip_keeps_every_field(doc):
    assert planfile.to_dict(planfile.from_dict(doc)) == doc


def _busy(d: dict) -> dict:
    """The first customer section with at least two changes."""
    return next(c for c in d["customers"] if len(c.get("changes", ())) > 1)


def _first_with(d: dict, key: str) -> tuple[int, int]:
    """(section, change) index of the first change with ``key``."""
    return next(
        (i, j)
        for i, c in enumerate(d["customers"])
        for j, x in enumerate(c.get("changes", ()))
        if key in x
    )


def _drop_referenced_subscription(d: dict) -> None:
    i, j = _first_with(d, "before")
    change = d["customers"][i]["changes"][j]
    del d["customers"][i]["snapshot"][change["tenant"]]["subscriptions"][change["subscription_id"]]


def _busy_at(d: dict) -> int:
    return d["customers"].index(_busy(d))


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.pop("format"), "is not a reconciler plan"),
        (lambda d: d.update(format_version=99), "format version 99"),
        (
            lambda d: _busy(d)["changes"][0].update(action="explode"),
            ".changes[0].action has the unknown value 'explode'",
        ),
        (lambda d: _busy(d)["changes"][1].pop("tenant"), ".changes[1].tenant is missing"),
        (
            lambda d: d["customers"][0].update(fingerprint=7),
            "$.customers[0].fingerprint should be str",
        ),
        (
            lambda d: d.update(live_read_at="yesterday"),
            "$.live_read_at is not an ISO 8601 date-time",
        ),
        (
            _drop_referenced_subscription,
            'before is "snapshot", but the customer\'s snapshot holds no subscription',
        ),
        (lambda d: d.pop("explanations"), ".why is missing, and $.explanations has none"),
    ],
)
def test_damaged_documents_are_refused_with_the_place(doc, mutate, needle):
    bad = copy.deepcopy(doc)
    mutate(bad)
    with pytest.raises(errors.PlanFileError) as caught:
        planfile.from_dict(bad, source="plan.json")
    assert needle in str(caught.value)
    assert "plan.json" in str(caught.value)


def test_a_damaged_change_is_named_by_its_customer_section(doc):
    bad = copy.deepcopy(doc)
    i = _busy_at(bad)
    bad["customers"][i]["changes"][1]["depends_on"] = "c1"
    with pytest.raises(errors.PlanFileError, match=rf"\$\.customers\[{i}\]\.changes\[1\]"):
        planfile.from_dict(bad, source="plan.json")


def test_a_plan_of_the_previous_format_is_refused_with_its_version_and_what_to_do(doc):
    old = copy.deepcopy(doc)
    old["format_version"] = 1
    with pytest.raises(errors.PlanFileError) as caught:
        planfile.from_dict(old, source="The plan file plan.json")
    message = str(caught.value)
    assert "plan format version 1, written by an older reconciler" in message
    assert f"reads version {actions.FORMAT_VERSION} only" in message
    assert "Run `reconciler plan --out FILE` again" in message
    assert "\n" not in message


def _values(value, path="$"):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _values(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _values(v, f"{path}[{i}]")
    yield path, value


def test_changes_and_strategies_carry_no_default_and_no_customer_fields(doc):
    for section in doc["customers"]:
        for kind in ("strategies", "changes", "deferred"):
            assert section.get(kind, None) != [], "an empty list is left out"
            for item in section.get(kind, ()):
                assert not {"customer_id", "customer_name", "address"} & set(item)
                # ``before`` and ``after`` are the subscription's and the action's own
                # fields, written as they are (an Azure plan has no term: null).
                found = [
                    (p, v)
                    for p, v in _values(item)
                    if (v is None or (isinstance(v, list | dict | str) and not v))
                    and not p.startswith(("$.before.", "$.after."))
                ]
                assert found == [], found
                assert item.get("applicable", True) is True


def test_a_before_that_copies_the_snapshot_is_written_as_a_reference(doc):
    i, j = _first_with(doc, "before")
    change = doc["customers"][i]["changes"][j]
    assert change["before"] == planfile.BEFORE_FROM_SNAPSHOT
    tenant, sid = change["tenant"], change["subscription_id"]
    held = doc["customers"][i]["snapshot"][tenant]["subscriptions"][sid]
    back = planfile.from_dict(doc)
    read = next(c for c in back.changes if c.id == change["id"])
    assert read.before is not None
    assert dict(read.before) == {
        "subscription_id": sid,
        "offer_id": held["offer"],
        "friendly_name": held["friendly_name"],
        "quantity": held["quantity"],
        "status": held["status"],
        "auto_renew": held["auto_renew"],
    }


def test_an_explanation_shared_by_strategies_is_written_once(doc):
    usual = doc["explanations"]
    assert usual, "the demo has legacy pairs that share their explanation"
    whys = [p.get("why") for c in doc["customers"] for p in c.get("strategies", ())]
    assert whys.count(None) >= 2
    for e in usual:
        assert e["why"] not in whys


def test_not_a_mapping_is_refused():
    with pytest.raises(errors.PlanFileError):
        planfile.from_dict([1, 2, 3])


def test_moved_customers_are_named():
    state = w.desired()
    live = w.accepted(state)
    plan = planner.build_plan(state, live, now=w.NOW)
    assert fingerprint.moved_customers(plan, live) == ()
    srcs = w.source_views()
    fab = srcs["de"][w.C + "c001"]
    srcs["de"][w.C + "c001"] = w.view(
        w.C + "c001",
        tuple(
            w.sub(s.id, s.offer_id, s.quantity + 1) if s.id == w.S + "d002" else s
            for s in fab.subscriptions
        ),
    )
    moved = fingerprint.moved_customers(plan, w.accepted(state, sources=srcs))
    assert [c.name for c in moved] == ["Fabrikam GmbH"]


ODD_VALUES = [None, 0, 7, True, 1.5, "", "x", "snapshot", [], ["x"], [1], {}, {"a": 1}]


def _places(change: dict) -> list[tuple[dict, str]]:
    """Every field of a change document and of its nested objects, with its parent."""
    found = [(change, k) for k in change]
    for k in ("gate", "overlap"):
        if isinstance(change.get(k), dict):
            found += [(change[k], f) for f in change[k]]
    for x in change.get("deadlines", ()):
        found += [(x, f) for f in x]
    return found


def test_the_fast_reader_accepts_exactly_what_the_checked_reader_accepts(doc):
    """Every field of every change set to values of every JSON type: the fast path reads the
    same change as the checked reader, or leaves it to the checked reader's refusal."""
    created = datetime.fromisoformat(doc["created_at"])
    tried = 0
    for section in doc["customers"]:
        who = (section["tenant_id"], section["name"])
        snapshot = (
            planfile.from_dict({**doc, "customers": [{**section, "changes": [], "strategies": []}]})
            .customers[0]
            .snapshot
        )
        for original in section.get("changes", ()):
            for field in {k for _, k in _places(original)} | {"strategy", "gate", "deadlines"}:
                for value in ODD_VALUES:
                    change = copy.deepcopy(original)
                    for parent, key in _places(change):
                        if key == field:
                            parent[key] = value
                    if field not in change and field in ("strategy", "gate", "deadlines"):
                        change[field] = value
                    tried += 1
                    try:
                        want = planread.read_change_checked(change, "$", who, snapshot, created)
                    except planread.Bad:
                        want = None
                    got = (
                        planread.read_change(change, "$", 0, who, snapshot, created)
                        if (want is not None)
                        else None
                    )
                    if want is None:
                        with pytest.raises(planread.Bad):
                            planread.read_change(change, "$", 0, who, snapshot, created)
                    else:
                        assert got == want, (field, value)
    assert tried > 1000


def test_the_fast_strategy_reader_accepts_exactly_what_the_checked_one_accepts(doc):
    usual = planread.read_explanations(doc, "$")
    tried = 0
    for section in doc["customers"]:
        who = (section["tenant_id"], section["name"])
        for original in section.get("strategies", ()):
            fields = {*original, "why", "rejected", "action"}
            for field in fields:
                for value in ODD_VALUES:
                    p = {**copy.deepcopy(original), field: value}
                    tried += 1
                    try:
                        want = planread.read_strategy_checked(p, "$", who, usual)
                    except planread.Bad:
                        with pytest.raises(planread.Bad):
                            planread.read_strategy(p, "$", 0, who, usual)
                        continue
                    assert planread.read_strategy(p, "$", 0, who, usual) == want, (field, value)
    assert tried > 200


def test_an_overlap_date_is_left_out_only_when_it_is_written_the_same(doc):
    """``target_bills_from`` defaults to the plan's ``created_at``: the same instant with
    another offset, or no date, is written out and read back as it was."""
    import dataclasses
    from datetime import timedelta, timezone

    plan = planfile.from_dict(doc)
    change = next(c for c in plan.changes if c.overlap is not None)
    paris = plan.created_at.astimezone(timezone(timedelta(hours=1)))
    for start, end in ((paris, paris), (None, None), (plan.created_at, None)):
        overlap = dataclasses.replace(
            change.overlap, target_bills_from=start, source_bills_until=end
        )
        moved = dataclasses.replace(
            plan,
            changes=tuple(
                dataclasses.replace(c, overlap=overlap) if c is change else c for c in plan.changes
            ),
        )
        back = planfile.from_dict(json.loads(json.dumps(planfile.to_dict(moved))))
        read = next(c for c in back.changes if c.id == change.id).overlap
        assert read is not None
        assert (planfile._dt(read.target_bills_from), planfile._dt(read.source_bills_until)) == (
            planfile._dt(start),
            planfile._dt(end),
        )


def test_a_plan_whose_changes_do_not_follow_its_customers_is_not_written(doc):
    """Reading the sections back gives the changes customer by customer: a plan in another
    order (which the planner never makes) is refused rather than silently reordered."""
    import dataclasses

    from reconciler import errors as errs

    plan = planfile.from_dict(doc)
    first, last = plan.changes[0], plan.changes[-1]
    assert first.address.customer_id != last.address.customer_id
    swapped = dataclasses.replace(plan, changes=(last, *plan.changes[1:-1], first))
    with pytest.raises(errs.PlanError, match="do not follow its customers"):
        planfile.to_dict(swapped)
    stranger = dataclasses.replace(
        first, address=dataclasses.replace(first.address, customer_id="someone-else")
    )
    with pytest.raises(errs.PlanError, match="someone-else"):
        planfile.to_dict(dataclasses.replace(plan, changes=(stranger, *plan.changes[1:])))
