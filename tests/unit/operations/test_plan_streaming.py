"""A saved plan is streamed to its file: the same bytes as `plan --format json` (gzip-wrapped
for .gz), written while holding one change's text at a time instead of the whole document.
(The rendered bytes themselves are pinned by tests/golden.)"""

from __future__ import annotations

import gzip
import sys
import tracemalloc
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planning"))

import big_world

from reconciler.operations import planfiles
from reconciler.planning import actions, planner
from reconciler.rendering import jsondoc


@pytest.fixture(scope="module")
def plan() -> actions.Plan:
    state, live = big_world.make(400, 5)
    return planner.build_plan(state, live, now=big_world.NOW)


@pytest.mark.parametrize("name", ["plan.json", "plan.json.gz"])
def test_the_file_holds_exactly_the_rendered_document(
    plan: actions.Plan, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    planfiles.write_plan(plan, path)
    raw = path.read_bytes()
    text = gzip.decompress(raw) if name.endswith(".gz") else raw
    assert text.decode("utf-8") == jsondoc.render(plan)
    assert planfiles.read_plan(path) == plan


def test_writing_holds_far_less_than_the_document(plan: actions.Plan, tmp_path: Path) -> None:
    size = len(jsondoc.render(plan).encode("utf-8"))
    tracemalloc.start()
    try:
        planfiles.write_plan(plan, tmp_path / "plan.json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 2_000_000
    assert peak < size / 10, (peak, size)
