"""Saved plans: round trip, and a clear PlanFileError for anything else."""

from __future__ import annotations

import copy

import demo_world as w
import pytest

from reconciler import errors
from reconciler.planning import fingerprint, planfile, planner


@pytest.fixture(scope="module")
def doc() -> dict:
    state = w.desired()
    return planfile.to_dict(planner.build_plan(state, w.accepted(state), now=w.NOW))


def test_round_trip_keeps_every_field(doc):
    assert planfile.to_dict(planfile.from_dict(doc)) == doc


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.pop("format"), "is not a reconciler plan"),
        (lambda d: d.update(format_version=99), "format version 99"),
        (
            lambda d: d["changes"][0].update(action="explode"),
            "$.changes[0].action has the unknown value 'explode'",
        ),
        (
            lambda d: d["changes"][1]["address"].pop("tenant"),
            "$.changes[1].address.tenant is missing",
        ),
        (
            lambda d: d["customers"][0].update(fingerprint=7),
            "$.customers[0].fingerprint should be str",
        ),
        (
            lambda d: d.update(live_read_at="yesterday"),
            "$.live_read_at is not an ISO 8601 date-time",
        ),
    ],
)
def test_damaged_documents_are_refused_with_the_place(doc, mutate, needle):
    bad = copy.deepcopy(doc)
    mutate(bad)
    with pytest.raises(errors.PlanFileError) as caught:
        planfile.from_dict(bad, source="plan.json")
    assert needle in str(caught.value)
    assert "plan.json" in str(caught.value)


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
