"""Money and time per pair: how many days both tenants bill for the same seats, and the
deadlines that matter (cancellation window, term end, transfer expiry).

Pure arithmetic over live dates and the injected clock; no decisions about what to do.
Counting rule: calendar days from the day the target starts billing to the day the source
stops (0 = the same day, which is the procedure's goal). "If applied today" means ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from reconciler import model
from reconciler.planning import actions
from reconciler.planning.strategy import Strategy

#: A partner-to-partner transfer request expires when the source does not answer in 30 days.
TRANSFER_EXPIRY = timedelta(days=30)
#: Legacy Azure and some offers report a commitment end in year 9999: "no term end".
_NO_END_YEAR = 9000


def _term_end(sub: model.LiveSubscription) -> datetime | None:
    end = sub.commitment_end_date
    return end if end is not None and end.year < _NO_END_YEAR else None


#: Marks a one-month term in a term-end note: it renews every month, so it is routine, not a
#: deadline worth a warning (planning.deadlines).
MONTHLY = "monthly"


def _monthly(sub: model.LiveSubscription) -> bool:
    """A one-month commitment (``P1M``); a monthly *billing cycle* can carry a yearly term."""
    return (sub.term_duration or "").upper() == "P1M"


def _days(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max((end.date() - start.date()).days, 0)


def overlap(
    strategy: Strategy | None,
    source: model.LiveSubscription,
    target_from: datetime | None,
    now: datetime,
) -> actions.Overlap:
    """Overlap for a source subscription whose replacement bills from ``target_from``.

    Only days this plan causes or could avoid count: from today (or from the day the target
    starts billing, if later) to the day the source stops. Days both tenants billed before
    today are past and are only mentioned in the note. ``strategy`` None means the source is
    held (protect flag) and keeps billing.
    """
    start = max(target_from or now, now)
    past = _days(target_from, now) if target_from is not None and target_from < now else 0
    end = _term_end(source)
    nce = source.commerce is model.CommerceModel.NCE_LICENSE
    if strategy is Strategy.TRANSFER:
        return actions.Overlap(0, start, start, "billing moves with the transfer: no overlap")
    if strategy is Strategy.CANCEL:
        note = "cancelled inside the window: prorated refund"
        return actions.Overlap(_days(start, now), start, now, _past(note, past))
    if strategy is Strategy.SUSPEND and not nce:
        note = "legacy suspension stops billing the same day"
        return actions.Overlap(_days(start, now), start, now, _past(note, past))
    if strategy is Strategy.SUSPEND:
        note = "new-commerce suspension keeps billing until the term ends"
    elif strategy is Strategy.EXPIRE:
        note = "auto-renew off: the source bills until its term ends"
    elif strategy is Strategy.KEEP:
        note = "kept by the manifest: the source keeps billing"
    else:
        note = "held by a protect flag: the source keeps billing"
    if end is not None and end <= now:
        when = end.date().isoformat()
        return actions.Overlap(
            None, start, None, _past(f"{note} (its recorded term end, {when}, has passed)", past)
        )
    if end is None:
        return actions.Overlap(None, start, None, _past(note + " (no term end known)", past))
    return actions.Overlap(_days(start, end), start, end, _past(note, past))


def _past(note: str, days: int | None) -> str:
    if not days:
        return note
    return f"{note}; both tenants already billed {days} day{'s' if days != 1 else ''} before today"


def deadlines(
    source: model.LiveSubscription, strategy: Strategy | None, now: datetime
) -> tuple[actions.Deadline, ...]:
    """Dates that matter for this source subscription, earliest first."""
    found: list[actions.Deadline] = []
    until = source.cancellation_allowed_until
    if until is not None and until > now:
        found.append(actions.Deadline("cancellation-window", until, "last moment to cancel"))
    end = _term_end(source)
    if end is not None and end > now:  # a recorded end in the past is no deadline
        term = f"the {MONTHLY} term" if _monthly(source) else "the term"
        if strategy in (Strategy.SUSPEND, Strategy.CANCEL, Strategy.EXPIRE) and source.auto_renew:
            # Suspending (new commerce) and auto-renew off stop the renewal; a legacy
            # subscription still suspended at its term end is deleted.
            note = f"{term} ends; this change stops its renewal"
        else:
            note = f"{term} {'renews' if source.auto_renew else 'ends'}"
        found.append(actions.Deadline("term-end", end, note))
    if strategy is Strategy.TRANSFER:
        found.append(
            actions.Deadline(
                "transfer-expiry", now + TRANSFER_EXPIRY, "a request made today expires"
            )
        )
    return tuple(sorted(found, key=lambda d: d.at)) if len(found) > 1 else tuple(found)
