"""Deadlines that close soon, as warnings at the top of the plan (docs/plan-format.md).

A change carries the dates that matter for its source subscription (planning.billing): the
new-commerce cancellation window, the term end, a transfer request's expiry. Those closing
within the policy's ``deadline_warning_days`` are what a reviewer must act on now, whether or
not the change can be applied in this run (a target that keeps failing to be created blocks the
cancellation behind it while its window runs out). One warning per subscription and kind, with
what missing the date costs where the plan knows it. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from reconciler.planning import actions, billing

_WHAT = {
    "cancellation-window": "the cancellation window",
    "term-end": "the term",
    "transfer-expiry": "the transfer request",
}


def _routine(d: actions.Deadline) -> bool:
    """A monthly term's end comes every month: not a deadline to warn about."""
    return d.kind == "term-end" and d.note.startswith(f"the {billing.MONTHLY} term")


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def _cost(change: actions.Change, d: actions.Deadline, now: datetime) -> str:
    seats = (change.before or {}).get("quantity")
    seats_words = f"{seats} seats" if isinstance(seats, int) else "its seats"
    if d.kind == "cancellation-window":
        end = next((x.at for x in change.deadlines if x.kind == "term-end"), None)
        if end is None:
            return f"missing it leaves {seats_words} billing until the term ends"
        return (
            f"missing it leaves {seats_words} billing until {end.date().isoformat()} "
            f"({_days((end.date() - now.date()).days)} more)"
        )
    if d.kind == "term-end":
        if "stops its renewal" in d.note:
            return f"apply before then, or {seats_words} renew for another term"
        if "renews" in d.note:
            return f"{seats_words} renew for another term then"
        return "the subscription ends then"
    return "missing it means the transfer must be requested again"


def soon(
    changes: Iterable[actions.Change], now: datetime, within_days: int
) -> list[actions.Diagnostic]:
    """One ``deadline-soon`` warning per (subscription, kind) closing within ``within_days``."""
    horizon = now + timedelta(days=within_days)
    seen: set[tuple[str, str, str]] = set()
    found: list[tuple[datetime, str, actions.Diagnostic]] = []
    for c in changes:
        if not c.deadlines:
            continue
        a = c.address
        for d in c.deadlines:
            if not now < d.at <= horizon:
                continue
            key = (a.customer_id, a.subscription_id or a.key or "", d.kind)
            if key in seen or _routine(d):
                continue
            seen.add(key)
            left = (d.at.date() - now.date()).days
            when = "today" if left == 0 else f"in {_days(left)}"
            message = (
                f"{a.customer_name} ({a.customer_id}): {_WHAT.get(d.kind, d.kind)} of "
                f"{a.subscription_id or a.key} closes {d.at.date().isoformat()} ({when}); "
                f"{_cost(c, d, now)}"
            )
            diag = actions.Diagnostic(
                actions.Severity.WARNING, "deadline-soon", message, customer_id=a.customer_id
            )
            found.append((d.at, message, diag))
    return [diag for _, _, diag in sorted(found, key=lambda x: (x[0], x[1]))]
