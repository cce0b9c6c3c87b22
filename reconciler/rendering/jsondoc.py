"""JSON rendering: the plan document itself (planning.planfile), so ``plan --format json`` and
the saved plan file are the same bytes. Reads only the plan; prints nothing.

Layout: top-level keys one per line, and every item of a list (a change, a customer, a
diagnostic) compact on its own line. Diffs and ``grep`` stay readable, and the C JSON
encoder does the work (pretty-printing every nested field made a 100,000-change plan five
times slower and three times larger).
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.planning import actions, gcpause, planfile

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def _dump(value: Any) -> str:
    # One encoder for every item: json.dumps would build a new one per call.
    return _ENCODER.encode(value)


def render(plan: actions.Plan) -> str:
    """The plan document as JSON text (ends with a newline)."""
    doc = planfile.to_dict(plan)
    with gcpause.paused():
        parts = _parts(doc)
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _parts(doc: dict[str, Any]) -> list[str]:
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {_dump(item)}" for item in value)
            parts.append(f"  {_dump(key)}: [\n{items}\n  ]")
        else:
            parts.append(f"  {_dump(key)}: {_dump(value)}")
    return parts
