"""Money and time per pair: how many days both tenants bill for the same seats, and the
deadlines that matter (cancellation window, term end, transfer expiry).

Pure arithmetic over live dates and the injected clock; no decisions about what to do.
Counting rule: calendar days from the day the target starts billing to the day the source
stops (0 = the same day, which is the procedure's goal). "If applied today" means ``now``.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from operator import attrgetter

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
    # Written for speed (once per pair): ``max(target_from or now, now)`` and ``_days``
    # inlined, ``_past`` called only when there are past days, the past days and the term end
    # worked out only where they are used.
    start = now if target_from is None or now > target_from else target_from
    if strategy is Strategy.TRANSFER:
        return actions.Overlap(0, start, start, "billing moves with the transfer: no overlap")
    past = (
        max((now.date() - target_from.date()).days, 0)
        if target_from is not None and target_from < now
        else 0
    )
    if strategy is Strategy.CANCEL:
        note = "cancelled inside the window: prorated refund"
        days = 0 if start is now else max((now.date() - start.date()).days, 0)
        return actions.Overlap(days, start, now, _past(note, past) if past else note)
    nce = source.commerce is model.CommerceModel.NCE_LICENSE
    if strategy is Strategy.SUSPEND and not nce:
        note = "legacy suspension stops billing the same day"
        days = 0 if start is now else max((now.date() - start.date()).days, 0)
        return actions.Overlap(days, start, now, _past(note, past) if past else note)
    if strategy is Strategy.SUSPEND:
        note = "new-commerce suspension keeps billing until the term ends"
    elif strategy is Strategy.EXPIRE:
        note = "auto-renew off: the source bills until its term ends"
    elif strategy is Strategy.KEEP:
        note = "kept by the manifest: the source keeps billing"
    else:
        note = "held by a protect flag: the source keeps billing"
    end = _term_end(source)
    if end is not None and end <= now:
        when = end.date().isoformat()
        return actions.Overlap(
            None, start, None, _past(f"{note} (its recorded term end, {when}, has passed)", past)
        )
    if end is None:
        return actions.Overlap(None, start, None, _past(note + " (no term end known)", past))
    return actions.Overlap(_days(start, end), start, end, _past(note, past))


@functools.lru_cache(maxsize=256)
def _past(note: str, days: int | None) -> str:
    """``note``, and the days both tenants billed before today when there were any.

    Memoised: a pure function of a few notes and day counts (most pairs of a customer, and
    of a plan, share them), so equal notes are formatted, and held in memory, once."""
    if not days:
        return note
    return f"{note}; both tenants already billed {days} day{'s' if days != 1 else ''} before today"


#: Deadlines sort by date (``deadlines``).
_AT = attrgetter("at")


def _term_notes(term: str) -> tuple[str, str, str]:
    """A term-end note when the change stops the renewal, when the term renews, when it ends."""
    return f"{term} ends; this change stops its renewal", f"{term} renews", f"{term} ends"


#: The term-end notes (``_term_notes``) of a one-month term (True) and of any other: made once,
#: shared by every deadline. A one-month commitment is a ``P1M`` term duration (a monthly
#: *billing cycle* can carry a yearly term).
_TERM_NOTES = {True: _term_notes(f"the {MONTHLY} term"), False: _term_notes("the term")}
#: ``_TERM_NOTES`` by the commonest term durations, as read (``deadlines``).
_NOTES_BY_TERM = {
    None: _TERM_NOTES[False],
    "P1M": _TERM_NOTES[True],
    "P1Y": _TERM_NOTES[False],
    "P3Y": _TERM_NOTES[False],
}
#: The strategies that stop a subscription's renewal (``deadlines``).
_STOPS_RENEWAL = frozenset({Strategy.SUSPEND, Strategy.CANCEL, Strategy.EXPIRE})


def deadlines(
    source: model.LiveSubscription, strategy: Strategy | None, now: datetime
) -> tuple[actions.Deadline, ...]:
    """Dates that matter for this source subscription, earliest first."""
    # Written for speed (once per pair): the usual single deadline (the term end) is returned
    # without a list or a sort; notes per term duration looked up, not upper-cased.
    found: list[actions.Deadline] = []
    until = source.cancellation_allowed_until
    if until is not None and until > now:
        found.append(actions.Deadline("cancellation-window", until, "last moment to cancel"))
    end = source.commitment_end_date  # ``_term_end``, inlined (once per pair)
    if end is not None and end.year < _NO_END_YEAR and end > now:
        # A recorded end in the past is no deadline.
        term = source.term_duration
        notes = _NOTES_BY_TERM.get(term)
        if notes is None:
            notes = _TERM_NOTES[(term or "").upper() == "P1M"]
        stops, renews, ends = notes
        if strategy in _STOPS_RENEWAL and source.auto_renew:
            # Suspending (new commerce) and auto-renew off stop the renewal; a legacy
            # subscription still suspended at its term end is deleted.
            note = stops
        else:
            note = renews if source.auto_renew else ends
        term_end = actions.Deadline("term-end", end, note)
        if not found and strategy is not Strategy.TRANSFER:
            return (term_end,)
        found.append(term_end)
    if strategy is Strategy.TRANSFER:
        found.append(
            actions.Deadline(
                "transfer-expiry", now + TRANSFER_EXPIRY, "a request made today expires"
            )
        )
    if len(found) == 2:  # a transfer's term end and expiry: sorted (stably) by hand, speed
        first, second = found
        return (second, first) if second.at < first.at else (first, second)
    return tuple(sorted(found, key=_AT)) if len(found) > 1 else tuple(found)
