"""JSON rendering: the plan document itself (planning.planfile), so ``plan --format json`` and
the saved plan file are the same bytes. Reads only the plan; prints nothing.

Layout: top-level keys one per line, and every item of a list (a change, a customer, a
diagnostic) compact on its own line. Diffs and ``grep`` stay readable, and the C JSON
encoder does the work (pretty-printing every nested field made a 100,000-change plan five
times slower and three times larger).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from reconciler.planning import actions, gcpause, planfile

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def _dump(value: Any) -> str:
    # One encoder for every item: json.dumps would build a new one per call.
    return _ENCODER.encode(value)


def render(plan: actions.Plan) -> str:
    """The plan document as JSON text (ends with a newline)."""
    return "".join(chunks(plan))


def chunks(plan: actions.Plan) -> Iterator[str]:
    """``render(plan)`` in pieces, one list item at a time: writing a plan file through this
    holds one change's text at a time instead of the whole document and its dict (at
    200,000 subscriptions that was 2 GB more than the plan itself)."""
    doc = planfile.to_dict(plan, lazy=True)
    with gcpause.paused():
        yield "{\n"
        for index, (key, value) in enumerate(doc.items()):
            lead = "  " if index == 0 else ",\n  "
            items = iter(value) if isinstance(value, list | Iterator) else None
            first = next(items, _NOTHING) if items is not None else _NOTHING
            if first is _NOTHING:
                yield f"{lead}{_dump(key)}: {_dump([] if items is not None else value)}"
                continue
            yield f"{lead}{_dump(key)}: [\n    {_dump(first)}"
            for item in items or ():
                yield f",\n    {_dump(item)}"
            yield "\n  ]"
        yield "\n}\n"


_NOTHING = object()
