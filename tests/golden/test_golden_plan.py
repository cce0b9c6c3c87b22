"""The demo plan's text, Markdown and JSON renderings, pinned byte for byte (fixed clock and
tool version). After an intended change, regenerate with
``RECONCILER_UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden`` and review the diff."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import demo_world as w
import pytest

from reconciler.planning import actions, planfile, planner
from reconciler.rendering import jsondoc, markdown, text

HERE = Path(__file__).resolve().parent
UPDATE = os.environ.get("RECONCILER_UPDATE_GOLDEN") == "1"


def demo_plan(accepted: bool) -> actions.Plan:
    state = w.desired()
    live = w.accepted(state) if accepted else w.live_state(state)
    return planner.build_plan(state, live, now=w.NOW, tool_version="0.0.0-golden")


RENDERERS: dict[str, Callable[[actions.Plan], str]] = {
    "txt": text.render,
    "md": markdown.render,
    "json": jsondoc.render,
}
CASES = [(state, ext) for state in ("pending", "accepted") for ext in RENDERERS]


@pytest.mark.parametrize(("state", "ext"), CASES, ids=[f"{s}.{e}" for s, e in CASES])
def test_rendering_matches_golden_file(state, ext):
    rendered = RENDERERS[ext](demo_plan(state == "accepted"))
    golden = HERE / f"demo_plan_{state}.{ext}"
    if UPDATE:
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), f"missing {golden.name}: run with RECONCILER_UPDATE_GOLDEN=1"
    assert rendered == golden.read_text(encoding="utf-8")


def test_golden_json_loads_back_to_the_same_plan():
    plan = demo_plan(True)
    doc = (HERE / "demo_plan_accepted.json").read_text(encoding="utf-8")
    import json

    assert planfile.from_dict(json.loads(doc)) == plan


def test_renderings_differ_only_through_the_document():
    # Renderers read only the plan document: a plan loaded back from JSON renders the same.
    plan = demo_plan(False)
    import json

    again = planfile.from_dict(json.loads(jsondoc.render(plan)))
    for render in RENDERERS.values():
        assert render(again) == render(plan)


def held_plan() -> actions.Plan:
    """Fabrikam alone (counts of one), its central tenant already holding Office 365 E3 on the
    legacy offer for 30 days (adopted and resized; the days already billed twice are told
    apart from the plan's own), and its Visio source with a recorded term end in the past
    (no deadline, no count of days)."""
    state = w.desired()
    fabrikam = w.C + "c001"
    held = w.sub("7e1d0000-0000-4000-8000-0000000000e3", w.E3_LEGACY, 20, age_days=30,
                 cycle="annual", friendly="E3 bought by hand")  # fmt: skip
    sources = w.source_views()
    view = sources["de"][fabrikam]
    subs = tuple(
        dataclasses.replace(s, commitment_end_date=w.NOW - timedelta(days=3))
        if s.id.endswith("d002")
        else s
        for s in view.subscriptions
    )
    sources["de"][fabrikam] = dataclasses.replace(view, subscriptions=subs)
    live = w.live_state(state, target={fabrikam: w.view(fabrikam, (held,))}, sources=sources)
    return planner.build_plan(
        state, live, now=w.NOW, tool_version="0.0.0-golden", include=("Fabrikam GmbH",)
    )


@pytest.mark.parametrize("ext", ["txt", "md"])
def test_wording_of_an_adopted_target_past_dates_and_counts_of_one(ext):
    rendered = RENDERERS[ext](held_plan())
    golden = HERE / f"held_plan.{ext}"
    if UPDATE:
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), f"missing {golden.name}: run with RECONCILER_UPDATE_GOLDEN=1"
    assert rendered == golden.read_text(encoding="utf-8")
