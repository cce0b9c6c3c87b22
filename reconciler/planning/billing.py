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

    ``strategy`` None means the source is held (protect flag) and keeps billing.
    """
    start = target_from or now
    end = _term_end(source)
    nce = source.commerce is model.CommerceModel.NCE_LICENSE
    if strategy is Strategy.TRANSFER:
        return actions.Overlap(0, start, start, "billing moves with the transfer: no overlap")
    if strategy is Strategy.CANCEL:
        return actions.Overlap(
            _days(start, now), start, now, "cancelled inside the window: prorated refund"
        )
    if strategy is Strategy.SUSPEND and not nce:
        return actions.Overlap(
            _days(start, now), start, now, "legacy suspension stops billing the same day"
        )
    if strategy is Strategy.SUSPEND:
        note = "new-commerce suspension keeps billing until the term ends"
    elif strategy is Strategy.EXPIRE:
        note = "auto-renew off: the source bills until its term ends"
    elif strategy is Strategy.KEEP:
        note = "kept by the manifest: the source keeps billing"
    else:
        note = "held by a protect flag: the source keeps billing"
    if end is None:
        return actions.Overlap(None, start, None, note + " (no term end known)")
    return actions.Overlap(_days(start, end), start, end, note)


def deadlines(
    source: model.LiveSubscription, strategy: Strategy | None, now: datetime
) -> tuple[actions.Deadline, ...]:
    """Dates that matter for this source subscription, earliest first."""
    found: list[actions.Deadline] = []
    until = source.cancellation_allowed_until
    if until is not None and until > now:
        found.append(actions.Deadline("cancellation-window", until, "last moment to cancel"))
    end = _term_end(source)
    if end is not None:
        if strategy in (Strategy.SUSPEND, Strategy.CANCEL, Strategy.EXPIRE) and source.auto_renew:
            # Suspending (new commerce) and auto-renew off stop the renewal; a legacy
            # subscription still suspended at its term end is deleted.
            note = "the term ends; this change stops its renewal"
        else:
            note = f"the term {'renews' if source.auto_renew else 'ends'}"
        found.append(actions.Deadline("term-end", end, note))
    if strategy is Strategy.TRANSFER:
        found.append(
            actions.Deadline(
                "transfer-expiry", now + TRANSFER_EXPIRY, "a request made today expires"
            )
        )
    return tuple(sorted(found, key=lambda d: d.at))
