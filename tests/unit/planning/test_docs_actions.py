"""docs/plan-format.md's table of actions says what the action facts say: every action, with
its symbol and kind, and no other."""

from __future__ import annotations

import re
from pathlib import Path

from reconciler.planning import verbs

DOC = Path(__file__).resolve().parents[3] / "docs" / "plan-format.md"
_KIND = {"gate": verbs.Kind.GATE, "write": verbs.Kind.WRITE, "none": verbs.Kind.NOTE}


def _rows() -> dict[str, tuple[str, str]]:
    section = DOC.read_text(encoding="utf-8").split("## 2. Actions", 1)[1].split("\n## ", 1)[0]
    found = {}
    for line in section.splitlines():
        m = re.match(r"\| `([a-z-]+)` \| `(.)` \| (\w+)", line)
        if m:
            found[m.group(1)] = (m.group(2), m.group(3))
    return found


def test_the_documented_actions_are_the_actions_with_their_symbols_and_kinds() -> None:
    rows = _rows()
    assert sorted(rows) == sorted(a.value for a in verbs.Action)
    for action, facts in verbs.FACTS.items():
        symbol, kind = rows[action.value]
        assert (symbol, _KIND[kind]) == (facts.symbol, facts.kind), action
