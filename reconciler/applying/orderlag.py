"""Waiting out the order list's lag before an order whose outcome is unknown could be re-sent.

Partner Center can take up to 15 minutes to list a new order (partner-center-api.md §0,
"Order list lag"), so one look that finds nothing right after a lost answer proves nothing.
``await_order`` looks again with back-off until the order (or its marked subscription) is
found or the lag since the send has passed; ``not_resent`` is the outcome when it never shows:
the step stops as unknown and nothing is sent again in this run. A later run, started after
the lag has passed, looks once more and orders only if nothing is there (the journal's
``started`` time says when it was sent, ``journal.Pending.sent_at``).

Pure apart from the callables it is given (look, clock, sleep); it must NOT send anything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from reconciler import errors

T = TypeVar("T")


def await_order(
    look: Callable[[], T | None],
    *,
    sent_at: datetime,
    lag: timedelta,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
    first: float,
    most: float,
) -> T | None:
    """``look()`` until it finds something or ``sent_at + lag`` has passed (the last look is
    at or after that moment); waits ``first`` seconds, doubling up to ``most``."""
    deadline = sent_at + lag
    delay = first
    while True:
        found = look()
        left = (deadline - now()).total_seconds()
        if found is not None or left <= 0:
            return found
        sleep(min(delay, left))
        delay = min(delay * 2, most)


def not_resent(
    name: str, customer_id: str, sent_at: datetime, lag: timedelta
) -> errors.OutcomeUnknown:
    """The step's outcome when an order with a lost answer is still not listed at the bound."""
    minutes = lag.total_seconds() / 60
    return errors.OutcomeUnknown(
        f"the order of '{name}' for customer {customer_id}, sent at "
        f"{sent_at.strftime('%Y-%m-%d %H:%M:%S')} UTC, got no answer and was not listed within "
        f"{minutes:g} minutes (Partner Center can take up to 15 minutes to list a new order), "
        "so it was not sent again: a second order could be a duplicate. Check the customer's "
        "orders and subscriptions in Partner Center; the next `reconciler apply` looks for it "
        "again and orders only if it is still not there"
    )
