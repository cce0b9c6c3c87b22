"""Terminal rendering of a plan: warnings first, then one block per customer with a symbol
per change, then unmanaged and deferred work, then the summary line.

``render(plan, color=False) -> str``. ANSI colour only when ``color`` is True (the CLI
decides: asked for, or a TTY when not told). Reads only the plan document; prints nothing.
"""

from __future__ import annotations

from reconciler import escaping
from reconciler.planning import actions, verbs
from reconciler.rendering import common

A = actions.Action

T = verbs.Tone

#: The ANSI colour of each tone (an action's tone is one of its facts, planning/verbs.py).
_COLORS = {
    T.ADD: "32",
    T.CHANGE: "33",
    T.REMOVE: "31",
    T.HOLD: "35",
    T.SAME: "2",
    T.WAIT: "36",
}


class _Paint:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled and code else text


def _diagnostics(plan: actions.Plan, paint: _Paint) -> list[str]:
    lines: list[str] = []
    for sev, title, code in (
        (actions.Severity.ERROR, "Errors", "31;1"),
        (actions.Severity.WARNING, "Warnings", "33;1"),
    ):
        found = [d for d in plan.diagnostics if d.severity is sev]
        if found:
            lines.append(paint(f"{title} ({len(found)}):", code))
            lines.extend(
                f"  {'x' if sev is actions.Severity.ERROR else '!'} {d.message}" for d in found
            )
            lines.append("")
    return lines


def _change(c: actions.Change, names: dict[str, str], paint: _Paint) -> list[str]:
    code = _COLORS[c.action.facts.tone]
    action = paint(c.action.value.ljust(18), code)
    head = f"  {paint(c.action.symbol, code)} {action} {common.target_text(c)}"
    if c.action is A.NOOP:  # one line: nothing happens here, but overlap stays visible
        billing = ""
        if c.overlap is not None and c.overlap.days != 0:
            span = "open-ended" if c.overlap.days is None else f"{c.overlap.days} days"
            billing = f" (billing overlap: {span})"
        return [paint(f"{head}: {c.detail}{billing}", code)]
    lines = [head, f"      {c.detail}"]
    lines.extend(f"      {f}" for f in common.facts(c, names))
    return lines


def _customer(g: common.Group, names: dict[str, str], paint: _Paint) -> list[str]:
    status = g.entry.status.value if g.entry is not None else ""
    source = f", from {' and '.join(g.entry.source_tenants)}" if g.entry is not None else ""
    title = paint(f"{g.name} ({g.customer_id}{source})", "1")
    if g.settled:
        return [f"{title}  nothing to do ({len(g.changes)} unchanged)", ""]
    lines = [title + (f"  [{status}]" if status else "")]
    for d in g.diagnostics:
        if d.severity is actions.Severity.ERROR:
            lines.append(paint(f"  x {d.code}: nothing planned (see errors above)", "31"))
    for c in g.changes:
        lines.extend(_change(c, names, paint))
    if g.strategies:
        lines.append("  strategy per pair:")
    for p in g.strategies:
        lines.append(f"    {common.pair_text(p)}: {paint(common.route_text(p), '1')}")
        lines.append(f"      why: {p.why}")
        lines.extend(f"      {r}" for r in common.rejected_text(p))
    return [*lines, ""]


def _tail(plan: actions.Plan) -> list[str]:
    lines: list[str] = []
    if plan.azure_ready:
        lines += [
            "Ready for Microsoft support's Azure hand-off:",
            *(f"  - {n}" for n in plan.azure_ready),
            "",
        ]
    if plan.unmanaged:
        lines.append(
            "Unmanaged target subscriptions (not in the manifests, left alone): "
            f"{len(plan.unmanaged)}"
        )
        lines += [
            f'  - {u.customer_name}: {u.subscription_id} {u.offer_id} "{u.friendly_name}" '
            f"{u.quantity} seats, {u.status}"
            for u in plan.unmanaged
        ]
        lines.append("")
    if plan.deferred:
        lines.append(f"Deferred to a later apply by the policy caps: {len(plan.deferred)}")
        lines += [
            f"  - {c.action.value} {c.address.customer_name}: {common.target_text(c)}"
            for c in plan.deferred
        ]
        lines.append("")
    return lines


def render(plan: actions.Plan, *, color: bool = False) -> str:
    """The plan for a terminal."""
    plan = escaping.visible_strings(plan)  # a name cannot forge a line or colour one
    paint = _Paint(color)
    names = common.labels(plan)
    lines = [
        paint(f"Plan for {plan.consolidation} -> {plan.target}", "1")
        + f" ({common.count(len(plan.customers), 'customer')}, "
        f"live state read {common.stamp(plan.live_read_at)})",
        "",
    ]
    lines += _diagnostics(plan, paint)
    for g in common.groups(plan):
        lines += _customer(g, names, paint)
    lines += _tail(plan)
    lines.append(paint(common.summary_line(plan), "1"))
    return "\n".join(lines) + "\n"
