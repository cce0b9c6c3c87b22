"""The follow-up issue: what a consolidation still waits on, and what drifted, from one plan.

A scheduled, read-only re-plan feeds ``body(plan, within_days=...)``. It lists what waits on
whom (customers' invitations, source partners' transfers, Microsoft support's Azure hand-offs,
subscriptions still provisioning), the deadlines closing within ``within_days`` (cancellation
windows, term ends, transfer expiries), and the changes a plan would apply now: after a
converged apply those are drift (a subscription added back in a source, a target quantity
changed or a target suspended by hand). ``settled(plan, ...)`` is True when nothing is left,
and the workflow closes the issue. Pure: reads the plan, prints nothing.
"""

from __future__ import annotations

from datetime import timedelta

from reconciler.planning import actions
from reconciler.rendering import common

A = actions.Action
MARKER = "<!-- reconciler-followup -->"
TITLE = "reconciler: consolidation follow-up"
_WHO = {
    "customer": "Waiting on customers",
    "source-partner": "Waiting on the source partners",
    "microsoft-support": "Waiting on Microsoft support",
    "partner-center": "Waiting on Partner Center",
}
_MAX = 200


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def deadlines(
    plan: actions.Plan, within_days: int
) -> list[tuple[actions.Deadline, actions.Change]]:
    """Deadlines of pending changes (not no-ops or holds) within ``within_days`` of the read."""
    until = plan.live_read_at + timedelta(days=within_days)
    pending = [c for c in plan.changes if c.action not in (A.NOOP, A.HOLD)]
    found = [(d, c) for c in pending for d in c.deadlines if d.at <= until]
    return sorted(found, key=lambda pair: (pair[0].at, pair[1].id))


def drift(plan: actions.Plan) -> list[actions.Change]:
    """Changes that apply could make now (not gated): unapplied work or drift since the apply."""
    return [c for c in plan.changes if c.applicable]


def settled(plan: actions.Plan, within_days: int) -> bool:
    """Nothing waits, nothing drifted, nothing failed, no deadline is close: close the issue."""
    return (
        not plan.gates and not drift(plan) and not plan.errored and not deadlines(plan, within_days)
    )


def _list(title: str, lines: list[str]) -> list[str]:
    if not lines:
        return []
    shown, more = common.first(lines, _MAX)
    return [
        f"### {title} ({len(lines)})",
        "",
        *shown,
        *([f"- … and {more} more"] if more else []),
        "",
    ]


def body(plan: actions.Plan, *, within_days: int = 14, run_url: str | None = None) -> str:
    """The issue's body (Markdown, starting with the hidden marker)."""
    lines = [
        MARKER,
        f"Re-planned read-only at {common.stamp(plan.live_read_at)} (manifests "
        f"`{plan.inputs_digest[:19]}`, reconciler {plan.tool_version})"
        + (f", [run]({run_url})" if run_url else "")
        + ". This issue is updated on every scheduled run and closed when nothing is left.",
        "",
    ]
    for who, title in _WHO.items():
        gated = [c for c in plan.gates if c.gate is not None and c.gate.waiting_on == who]
        lines += _list(
            title,
            [
                f"- **{_cell(c.address.customer_name)}** ({c.action.value}, "
                f"{_cell(common.target_text(c))}): {_cell(c.gate.what if c.gate else '')}"
                for c in gated
            ],
        )
    lines += _list(
        f"Deadlines within {within_days} days",
        [
            f"- {common.day(d.at)} **{d.kind}**: {_cell(c.address.customer_name)}, "
            f"{c.action.value} {_cell(common.target_text(c))}"
            + (f" ({_cell(d.note)})" if d.note else "")
            for d, c in deadlines(plan, within_days)
        ],
    )
    lines += _list(
        "Changes to apply (not yet applied, or drifted since the last apply)",
        [
            f"- **{_cell(c.address.customer_name)}**: {c.action.value} "
            f"{_cell(common.target_text(c))}: {_cell(c.detail)}"
            for c in drift(plan)
        ],
    )
    errors = [d.message for d in plan.diagnostics if d.severity is actions.Severity.ERROR]
    lines += _list("Customers that could not be planned", [f"- {_cell(m)}" for m in errors])
    if settled(plan, within_days):
        lines += ["Nothing is left: every customer is consolidated and nothing drifted.", ""]
    lines.append(common.summary_line(plan))
    return "\n".join(lines) + "\n"
