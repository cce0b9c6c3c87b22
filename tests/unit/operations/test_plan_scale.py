"""The largest plan the tool supports (docs/plan-format.md §10: ``files.MAX_PLAN_SCALE``,
10,000 customers and 100,000 subscriptions) is read back by every command that reads a saved
plan (``planfiles.read_plan``: show, apply, check-plan, comment, followup), within the caps and
with a margin.

The document is the writer's own: ten customers of a generated world (ten subscriptions each,
in every phase: invitation pending, nothing in the target yet, half-way) planned and rendered
by ``jsondoc`` as ``plan --out`` writes them, then each customer's section repeated a thousand
times under new tenant ids and names. Planning and rendering 100,000 subscriptions would take
a minute; reading them back is what the caps decide."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planning"))

import big_world

from reconciler import files
from reconciler.applying import checks
from reconciler.operations import planfiles
from reconciler.planning import actions, planner
from reconciler.rendering import jsondoc, text

CUSTOMERS, PER_CUSTOMER, COPIES = 10, 10, 1000


def _tenant(tenant_id: str, n: int) -> str:
    """A tenant id of copy ``n`` of the customer ``tenant_id`` (its last 4 digits kept)."""
    return f"{tenant_id[:24]}{n:08x}{tenant_id[-4:]}"


@pytest.fixture(scope="module")
def largest(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, actions.Plan, int]:
    """The file, the small plan it was assembled from, and its count of JSON values."""
    state, live = big_world.make(CUSTOMERS, PER_CUSTOMER)
    small = planner.build_plan(state, live, now=big_world.NOW)
    body = jsondoc.render(small)
    start = body.index('\n  "customers": [\n') + len('\n  "customers": [\n')
    end = body.index('\n  ],\n  "unmanaged"')
    sections = body[start:end].removesuffix("\n    }").split("\n    },\n")
    assert len(sections) == CUSTOMERS
    path = tmp_path_factory.mktemp("largest") / "plan.json"
    with path.open("w", encoding="utf-8") as fh:
        head = body[:start].replace(f'"customers": {CUSTOMERS}', f'"customers": {10_000}')
        fh.write(head)
        lead = ""
        for n in range(COPIES):
            for section, c in zip(sections, small.customers, strict=True):
                copy = section.replace(c.tenant_id, _tenant(c.tenant_id, n))
                fh.write(lead + copy.replace(c.name, f"{c.name} {n}"))
                lead = "\n    },\n"
        fh.write("\n    }" + body[end:])
    # Ids and names hold no brackets or commas: every copy counts as its template does.
    per_copy = files.json_values_at_most(",\n".join(sections).encode()) - 1
    values = files.json_values_at_most((head + body[end:]).encode()) + COPIES * (per_copy + 1)
    return path, small, values


def test_a_plan_of_the_documented_maximum_is_read_back_within_the_caps(largest) -> None:
    path, small, values = largest
    assert CUSTOMERS * COPIES == 10_000 and CUSTOMERS * PER_CUSTOMER * COPIES == 100_000
    assert files.MAX_PLAN_SCALE == "10,000 customers and 100,000 subscriptions"
    # Margins: the document and its values are well inside the caps.
    assert path.stat().st_size * 1.3 < files.MAX_PLAN_BYTES, path.stat().st_size
    assert values * 1.5 < files.MAX_PLAN_VALUES, values
    plan = planfiles.read_plan(path)
    assert len(plan.customers) == 10_000
    assert len(plan.changes) == len(small.changes) * COPIES
    assert len(plan.strategies) == len(small.strategies) * COPIES
    # show and apply --customer of one customer: the last copy of each customer reads as
    # that customer does in the small plan, its tenant id and name aside.
    n = COPIES - 1
    last = checks.narrow(plan, [_tenant(c.tenant_id, n) for c in small.customers])
    del plan
    for c in small.customers:
        copy = text.render(checks.narrow(last, [_tenant(c.tenant_id, n)]))
        copy = copy.replace(_tenant(c.tenant_id, n), c.tenant_id).replace(f"{c.name} {n}", c.name)
        assert (
            copy.splitlines()[1:]
            == text.render(checks.narrow(small, [c.tenant_id])).splitlines()[1:]
        )
