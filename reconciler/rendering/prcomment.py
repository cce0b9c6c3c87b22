"""The plan as pull-request comments that scale: every customer in a table row, in pages.

``pages(plan, changed=..., limit=...)`` returns one or more Markdown bodies, each under
``limit`` characters and each starting with a hidden marker (``<!-- reconciler-plan ... -->``)
by which the workflow finds and updates its own comments instead of adding more. Page 1 leads
with the summary (counts, risk, gates, errors and warnings), then the customers the pull
request changes (from the changed manifest files), then one row for every other customer
(name, source, +/−/transfer counts, what it waits on, overlap days, the nearest deadline), then
folded details per customer with work. Nothing is dropped: what does not fit goes to the next
page, and a table split across pages repeats its header. ``error_page`` is the body that
replaces them when the plan failed, so no stale plan stays up looking valid.

Pure: reads the plan document, prints nothing, talks to no one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from dataclasses import dataclass

from reconciler.planning import actions
from reconciler.rendering import common, markdown

A = actions.Action

#: GitHub refuses a comment body over 65,536 characters; stay well below with the marker.
DEFAULT_LIMIT = 60_000

_ADDS = (A.CREATE, A.RESIZE, A.REACTIVATE)
_CUTS = (A.SUSPEND, A.CANCEL, A.DISABLE_AUTO_RENEW)
_TABLE_HEAD = (
    "| Customer | Source | + | − | ⇄ | Waiting on | Overlap days | Next deadline |\n"
    "|---|---|---:|---:|---:|---|---:|---|\n"
)


def marker(key: str, part: int, total: int) -> str:
    """The hidden first line of each comment: which plan comment it is, and which page."""
    if not re.fullmatch(r"[\w.-]+", key):
        raise ValueError(f"comment key {key!r}: letters, digits, '.', '_' and '-' only")
    return f"<!-- reconciler-plan key={key} part={part}/{total} -->"


@dataclass(frozen=True)
class _Block:
    """A piece of a page; ``table`` blocks are rows that need the table header above them."""

    text: str
    #: The table this block is a row of.
    table: str | None = None
    #: The table this block starts (a title with the table's header).
    opens: str | None = None


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _row(g: common.Group) -> str:
    counts = g.counts()
    adds = sum(counts.get(a, 0) for a in _ADDS)
    cuts = sum(counts.get(a, 0) for a in _CUTS)
    moves = counts.get(A.TRANSFER, 0)
    waiting = sorted({c.gate.waiting_on for c in g.changes if c.gate is not None})
    if g.errored:
        waiting = ["**error: not planned**"]
    days = [c.overlap.days for c in g.changes if c.overlap and c.overlap.days is not None]
    deadlines = sorted((d.at, d.kind) for c in g.changes for d in c.deadlines)
    deadline = f"{common.day(deadlines[0][0])} {deadlines[0][1]}" if deadlines else ""
    source = g.entry.source if g.entry is not None else ""
    cells = [
        _cell(g.name),
        f"`{_cell(source)}`" if source else "",
        str(adds) if adds else "",
        str(cuts) if cuts else "",
        str(moves) if moves else "",
        _cell(", ".join(waiting)),
        str(max(days)) if days else "",
        _cell(deadline),
    ]
    return "| " + " | ".join(cells) + " |\n"


def _is_changed(g: common.Group, changed: Collection[str]) -> bool:
    return g.customer_id in changed or g.name in changed


def _blocks(plan: actions.Plan, changed: Collection[str], details_url: str | None) -> list[_Block]:
    head = [
        *markdown._header(plan),
        *markdown._risk(plan),
        *markdown._gates(plan),
        *markdown._diagnostics(plan),
    ]
    if details_url:
        head += [f"The full plan (JSON) is the artifact of [this run]({details_url}).", ""]
    blocks = [_Block("\n".join(head) + "\n")]
    everything = common.groups(plan)
    mine = [g for g in everything if _is_changed(g, changed)]
    rest = [g for g in everything if not _is_changed(g, changed)]
    # Within each table: customers that failed, then those with work, then the settled ones.
    order = sorted(range(len(rest)), key=lambda i: (not rest[i].errored, rest[i].settled, i))
    rest = [rest[i] for i in order]
    if changed:
        title = f"#### Customers this pull request changes ({len(mine)})\n\n"
        blocks.append(
            _Block(title + _TABLE_HEAD, opens="changed") if mine else _Block(title + "_None._\n")
        )
        blocks += [_Block(_row(g), table="changed") for g in mine]
        blocks.append(_Block("\n"))
    title = f"#### {'Other customers' if changed else 'Customers'} ({len(rest)})\n\n"
    blocks.append(
        _Block(title + _TABLE_HEAD, opens="rest") if rest else _Block(title + "_None._\n")
    )
    blocks += [_Block(_row(g), table="rest") for g in rest]
    return blocks


class _Pager:
    """Fills pages of at most ``room`` characters with blocks, in order."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.pages: list[list[str]] = [[]]
        self.size = 0
        self.open_table: str | None = None

    def fits(self, text: str) -> bool:
        return self.size + len(text) <= self.room

    def add(self, block: _Block) -> None:
        text = block.text
        if len(text) > self.room - len(_TABLE_HEAD):  # one customer's details over a page
            text = text[: self.room - len(_TABLE_HEAD) - 80] + "\n\n_… cut; see the full plan._\n\n"
        if self.pages[-1] and not self.fits(text):
            self.pages.append([])
            self.size = 0
            if block.table is not None:  # a table split across pages repeats its header
                text = _TABLE_HEAD + text
        elif block.table is not None and block.table != self.open_table:
            text = _TABLE_HEAD + text
        self.pages[-1].append(text)
        self.size += len(text)
        self.open_table = block.table or block.opens


def pages(
    plan: actions.Plan,
    *,
    changed: Collection[str] = (),
    key: str = "plan",
    limit: int = DEFAULT_LIMIT,
    details_url: str | None = None,
    max_pages: int = 10,
) -> list[str]:
    """The plan as comment bodies of at most ``limit`` characters each, every customer in a row.

    ``changed`` holds the tenant ids (or names) of the customers the pull request changes;
    they come first, in their own table. Every customer always gets its row, however many
    pages that takes; the folded per-customer details (changed customers' first) fill pages
    only up to ``max_pages``, and a line says how many more are in the full plan.
    """
    pager = _Pager(limit - len(marker(key, 99_999, 99_999)) - 200)  # marker, continuation
    for block in _blocks(plan, changed, details_url):
        pager.add(block)
    foot = f"\n{common.summary_line(plan)}\n"
    everything = common.groups(plan)
    mine = [g for g in everything if _is_changed(g, changed)]
    rest = [g for g in everything if not _is_changed(g, changed)]
    busy = [g for g in mine if g.errored or not g.settled]
    busy += [g for g in rest if g.errored] + [g for g in rest if not g.errored and not g.settled]
    names = common.labels(plan)
    reserve = " " * (len(foot) + 300)
    if busy:
        pager.add(_Block("\n#### Details\n\n"))
    for i, g in enumerate(busy):
        section = markdown._customer(g, names)
        if len(pager.pages) >= max_pages and not pager.fits(section + reserve):
            where = "the plan artifact of this run" if details_url else "the full plan"
            pager.add(
                _Block(
                    f"\n_Details of {len(busy) - i} more customers with changes are in {where} "
                    "(`reconciler show PLANFILE`); every customer has its row above._\n"
                )
            )
            break
        pager.add(_Block(section))
    pager.add(_Block(foot))
    total = len(pager.pages)
    out = []
    for i, parts in enumerate(pager.pages, start=1):
        more = f"\n_Continued in the next comment ({i + 1}/{total})._\n" if i < total else ""
        page = f"_Plan, part {i}/{total} (continued)._\n\n" if i > 1 else ""
        out.append(f"{marker(key, i, total)}\n{page}{''.join(parts)}{more}")
    return out


def error_page(message: str, *, key: str = "plan", details_url: str | None = None) -> str:
    """The one comment that replaces a plan's pages when planning failed."""
    shown = message.strip() or "reconciler plan failed without a message."
    if len(shown) > DEFAULT_LIMIT - 1000:
        shown = shown[: DEFAULT_LIMIT - 1000] + "\n…"
    where = f" See [the run]({details_url}) for the log." if details_url else ""
    fence = "````"
    return (
        f"{marker(key, 1, 1)}\n### reconciler plan failed\n\n"
        "> [!CAUTION]\n> There is **no valid plan** for this commit: the previous plan comment was "
        f"replaced so nobody reviews or merges on it.{where}\n\n"
        f"{fence}text\n{shown}\n{fence}\n"
    )
