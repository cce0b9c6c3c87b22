"""docs/plan-format.md §8's example is a plan document this reconciler reads, and writes back
the same: the page cannot drift from the format."""

from __future__ import annotations

import json
import re
from pathlib import Path

from reconciler.planning import actions, planfile

DOC = Path(__file__).resolve().parents[3] / "docs" / "plan-format.md"


def _example() -> dict:
    section = DOC.read_text(encoding="utf-8").split("## 8. The document")[1]
    found = re.search(r"```json\n(.*?)\n```", section, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_the_documented_example_reads_and_writes_back_the_same() -> None:
    doc = _example()
    assert doc["format_version"] == actions.FORMAT_VERSION
    assert f"## 8. The document (format version {actions.FORMAT_VERSION})" in DOC.read_text(
        encoding="utf-8"
    )
    plan = planfile.from_dict(doc)
    suspend = next(c for c in plan.changes if c.action is actions.Action.SUSPEND)
    assert suspend.before is not None and suspend.before["quantity"] == 25
    assert suspend.address.customer_name == "Fabrikam GmbH"
    assert suspend.overlap is not None and suspend.overlap.target_bills_from == plan.created_at
    visio = next(p for p in plan.strategies if p.key == "visio")
    assert visio.why.startswith("legacy license")
    again = planfile.to_dict(plan)
    assert {k: v for k, v in again.items() if k != "summary"} == {
        k: v for k, v in doc.items() if k != "summary"
    }
