"""Markdown rendering for a pull-request comment: a short summary table, risk called out,
warnings, then one folded ``<details>`` section per customer.

``render(plan, limit=..., full_plan=...) -> str`` always stays under ``limit`` characters
(GitHub refuses comments over 65,535): customer sections and long lists are cut, with a
pointer to the full plan (``full_plan``, e.g. the CI artifact or ``reconciler show``).
Reads only the plan document; prints nothing.
"""

from __future__ import annotations

import html

from reconciler import escaping
from reconciler.planning import actions
from reconciler.rendering import common

A = actions.Action

#: GitHub's comment limit, with room for what CI wraps around the body.
GITHUB_LIMIT = 65_535
DEFAULT_LIMIT = 60_000
_MAX_LISTED = 20


def _cell(text: str) -> str:
    return escaping.markdown_cell(text)


def _header(plan: actions.Plan) -> list[str]:
    counts = plan.counts()
    lines = [
        f"### reconciler plan: `{plan.consolidation}` → `{plan.target}`",
        "",
        f"**{common.OUTCOMES[plan.outcome].capitalize()}.** "
        f"{common.count(len(plan.customers), 'customer')}, "
        f"live state read {common.stamp(plan.live_read_at)}, manifests "
        f"`{plan.inputs_digest[:19]}`, reconciler {plan.tool_version}.",
        "",
        "| | Action | Count |",
        "|---|---|---:|",
    ]
    for a in A:
        if a.value in counts:
            lines.append(f"| `{a.symbol}` | {a.facts.many} | {counts[a.value]} |")
    if plan.deferred:
        lines.append(f"| | deferred by policy caps | {len(plan.deferred)} |")
    return [*lines, ""]


def _risk(plan: actions.Plan) -> list[str]:
    cut = [c for c in plan.changes if c.action in (A.SUSPEND, A.CANCEL)]
    overlaps = [d for d in plan.diagnostics if d.code == "billing-overlap"]
    errors = [d for d in plan.diagnostics if d.severity is actions.Severity.ERROR]
    items = []
    if cut:
        n_now = sum(1 for c in cut if c.applicable)
        subs = "source subscription" + ("s" if len(cut) != 1 else "")
        items.append(
            f"**{len(cut)} {subs} will be suspended or cancelled** "
            f"({n_now} in this apply, each only after its replacement is active)."
        )
    if overlaps:
        pairs = "1 pair bills" if len(overlaps) == 1 else f"{len(overlaps)} pairs bill"
        items.append(f"**{pairs} twice beyond the tolerance** (see warnings).")
    if errors:
        who = "1 customer" if len(errors) == 1 else f"{len(errors)} customers"
        items.append(f"**{who} could not be planned** (see errors).")
    if not items:
        return []
    return ["> [!WARNING]", *(f"> - {i}" for i in items), ""]


def _diagnostics(plan: actions.Plan) -> list[str]:
    lines: list[str] = []
    for sev, title in ((actions.Severity.ERROR, "Errors"), (actions.Severity.WARNING, "Warnings")):
        found = [d.message for d in plan.diagnostics if d.severity is sev]
        if not found:
            continue
        shown, more = common.first(found, _MAX_LISTED)
        lines.append(
            f"<details{' open' if sev is actions.Severity.ERROR else ''}>"
            f"<summary><b>{title} ({len(found)})</b></summary>\n"
        )
        lines += [f"- {_cell(m)}" for m in shown]
        if more:
            lines.append(f"- … and {more} more in the full plan")
        lines += ["", "</details>", ""]
    return lines


def _gates(plan: actions.Plan) -> list[str]:
    lines: list[str] = []
    invites = [c for c in plan.changes if c.action is A.INVITE]
    if invites:
        shown, more = common.first((_cell(c.address.customer_name) for c in invites), _MAX_LISTED)
        lines.append(
            f"**Waiting on customers to accept the invitation ({len(invites)}):** "
            + ", ".join(shown)
            + (f", … and {more} more" if more else "")
        )
        url = next((c.gate.url for c in invites if c.gate and c.gate.url), None)
        if url:
            lines.append(f"Invitation link: <{url}>")
        lines.append("")
    if plan.azure_ready:
        shown, more = common.first((_cell(n) for n in plan.azure_ready), _MAX_LISTED)
        lines.append(
            "**Ready for Microsoft support's Azure hand-off:** "
            + ", ".join(shown)
            + (f", … and {more} more" if more else "")
        )
        lines.append("")
    return lines


def _customer(g: common.Group, names: dict[str, str]) -> str:
    counts = g.counts()
    brief = (
        ", ".join(f"{n} {a.value}" for a, n in counts.items() if a is not A.NOOP) or "no changes"
    )
    if any(d.severity is actions.Severity.ERROR for d in g.diagnostics):
        brief = "**not planned (error)**"
    held = " and ".join(f"`{t}`" for t in g.entry.source_tenants) if g.entry else ""
    source = f" from {held}" if held else ""
    lines = [
        f"<details><summary><b>{html.escape(g.name)}</b>{source} — {brief}</summary>",
        "",
        "| | Action | Where | What |",
        "|---|---|---|---|",
    ]
    for c in g.changes:
        what = "<br>".join(_cell(x) for x in [c.detail, *common.facts(c, names)])
        where = _cell(common.target_text(c))
        lines.append(f"| `{c.action.symbol}` | {c.action.value} | `{where}` | {what} |")
    for d in g.diagnostics:
        lines.append(f"| `!` | {d.severity.value} | | {_cell(d.message)} |")
    if g.strategies:
        lines += ["", "| Pair | Moves by | Why | Rejected |", "|---|---|---|---|"]
    for p in g.strategies:
        rejected = "<br>".join(_cell(r) for r in common.rejected_text(p)) or "—"
        lines.append(
            f"| `{_cell(common.pair_text(p))}` | **{common.route_text(p)}** | {_cell(p.why)} "
            f"| {rejected} |"
        )
    return "\n".join([*lines, "", "</details>", ""]) + "\n"


def render(
    plan: actions.Plan, *, limit: int = DEFAULT_LIMIT, full_plan: str = "the saved plan file"
) -> str:
    """The plan as a PR comment of at most ``limit`` characters."""
    limit = min(limit, GITHUB_LIMIT)
    # A name cannot forge a line of the comment (a line feed is a space, as in a cell).
    plan = escaping.visible_strings(plan, newline=" ")
    head = "\n".join([*_header(plan), *_risk(plan), *_gates(plan), *_diagnostics(plan)]) + "\n"
    foot = f"\n{common.summary_line(plan)}\n"
    names = common.labels(plan)
    body: list[str] = []
    size = len(head) + len(foot)
    everything = common.groups(plan)
    # Risk first: customers that could not be planned, then those with work, then a line for
    # the settled ones, so truncation never hides what a reviewer must see.
    busy = [g for g in everything if g.errored] + [
        g for g in everything if not g.errored and not g.settled
    ]
    settled = [g.name for g in everything if g.settled]
    reserve = 300 + (0 if not settled else 200 + sum(len(n) + 2 for n in settled[:_MAX_LISTED]))
    for i, g in enumerate(busy):
        section = _customer(g, names)
        if size + len(section) + reserve > limit:
            body.append(
                f"\n_… {len(busy) - i} more customers with changes are not shown to stay under "
                f"GitHub's comment limit. The full plan: {full_plan} (`reconciler show "
                "PLANFILE`)._\n"
            )
            break
        body.append(section)
        size += len(section)
    if settled:
        shown, more = common.first((html.escape(n) for n in settled), _MAX_LISTED)
        body.append(
            f"\n**Nothing to do for {len(settled)} customer{'s' if len(settled) != 1 else ''}:** "
            f"{', '.join(shown)}" + (f", … and {more} more" if more else "") + "\n"
        )
    text = head + "".join(body) + foot
    if len(text) > limit:  # the header alone was too long: keep the start and say so
        note = f"\n_… cut to fit; see {full_plan}._\n"
        text = text[: limit - len(note)] + note
    return text
