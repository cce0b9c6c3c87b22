"""JSON rendering: the plan document itself (planning.planfile), so ``plan --format json`` and
the saved plan file are the same bytes. Reads only the plan; prints nothing.

Layout (docs/plan-format.md §8): the top-level keys one per line; in ``customers``, each
customer's section with its keys one per line, its snapshot one tenant per line, and each of
its strategies and changes compact on a line of its own; every other list item (an unmanaged
subscription, a diagnostic) compact on its own line. Diffs and ``grep`` stay readable, and
the C JSON encoder does the work (pretty-printing every nested field made a 100,000-change
plan five times slower and three times larger).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from reconciler.planning import actions, gcpause, planfile

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))

_Render = Callable[[Any, str], Iterator[str]]


def _dump(value: Any) -> str:
    # One encoder for every item: json.dumps would build a new one per call.
    return _ENCODER.encode(value)


def render(plan: actions.Plan) -> str:
    """The plan document as JSON text (ends with a newline)."""
    return "".join(chunks(plan))


def _compact(value: Any, indent: str) -> Iterator[str]:
    yield _dump(value)


def _lines(item: _Render = _compact) -> _Render:
    """A list rendered ``[``, then each item (by ``item``) on its own lines, then ``]``."""

    def render_list(values: Iterable[Any], indent: str) -> Iterator[str]:
        inner = indent + "  "
        lead = f"[\n{inner}"
        for value in values:
            yield lead
            yield from item(value, inner)
            lead = f",\n{inner}"
        yield "[]" if lead.startswith("[") else f"\n{indent}]"

    return render_list


def _keys(expand: Mapping[str, _Render], other: _Render = _compact) -> _Render:
    """An object rendered with one key per line; the values of the keys in ``expand`` by
    their renderer, every other value by ``other`` (compact)."""

    def render_object(value: Mapping[str, Any], indent: str) -> Iterator[str]:
        inner = indent + "  "
        lead = f"{{\n{inner}"
        for key, item in value.items():
            yield f"{lead}{_dump(key)}: "
            yield from expand.get(key, other)(item, inner)
            lead = f",\n{inner}"
        yield "{}" if lead.startswith("{") else f"\n{indent}}}"

    return render_object


_SECTION = _keys(
    {
        # One tenant's view per key, one subscription or transfer per line.
        "snapshot": _keys({}, _keys({"subscriptions": _keys({}), "transfers": _keys({})})),
        "strategies": _lines(),
        "changes": _lines(),
        "deferred": _lines(),
    }
)
_DOCUMENT = _keys(
    {
        "explanations": _lines(),
        "customers": _lines(_SECTION),
        "unmanaged": _lines(),
        "diagnostics": _lines(),
    }
)


def chunks(plan: actions.Plan) -> Iterator[str]:
    """``render(plan)`` in pieces, one list item at a time: writing a plan file through this
    holds one customer's section at a time instead of the whole document and its dict (at
    200,000 subscriptions that was 2 GB more than the plan itself)."""
    doc = planfile.to_dict(plan, lazy=True)
    with gcpause.paused():
        yield from _DOCUMENT(doc, "")
        yield "\n"
