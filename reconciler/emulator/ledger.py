"""The billing ledger and the write history, so tests can *prove* billing and service facts.

The ledger keeps, per subscription, segments of constant (owner, status, quantity); a day is
attributed to a segment when the segment holds at the end of that day (or now, for today).
Billing rules: legacy and Azure subscriptions bill only while ``active``; new-commerce
subscriptions bill while ``active`` *or* ``suspended``; a cancellation inside the full-refund
window (24 h) erases the subscription's billing. This module must not decide whether a write
is allowed; the routes do.
"""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.clock import iso
from reconciler.emulator.world import Subscription

_LIVE = ("active", "suspended")


@dataclass(slots=True)
class Segment:
    """A stretch of time over which a subscription's billing-relevant state was constant."""

    subscription_id: str
    partner_id: str
    customer_id: str
    offer_id: str
    quantity: int
    status: str
    billed: bool
    start: dt.datetime
    end: dt.datetime | None = None
    refunded: bool = False


def is_billed(sub: Subscription) -> bool:
    """Whether the owning partner pays for ``sub`` in its current state."""
    if sub.status == "active":
        return True
    return sub.status == "suspended" and sub.offering.is_nce


class Ledger:
    """Billing segments per subscription; see the module docstring for the rules."""

    def __init__(self, since: dt.datetime) -> None:
        self.since = since
        self._open: dict[str, Segment] = {}
        self._closed: list[Segment] = []

    def observe(self, sub: Subscription, now: dt.datetime) -> None:
        """Record ``sub``'s state from ``now`` on (closing the previous segment if it changed)."""
        key = sub.id.lower()
        current = self._open.get(key)
        state = (sub.partner_id, sub.status, sub.quantity)
        if current is not None:
            if (current.partner_id, current.status, current.quantity) == state:
                return
            current.end = now
            self._closed.append(current)
            del self._open[key]
        if sub.status in _LIVE:
            self._open[key] = Segment(
                subscription_id=sub.id,
                partner_id=sub.partner_id,
                customer_id=sub.customer_id,
                offer_id=sub.offering.offer_id,
                quantity=sub.quantity,
                status=sub.status,
                billed=is_billed(sub),
                start=max(now, self.since),
            )

    def refund(self, sub: Subscription) -> None:
        """Erase ``sub``'s billing (full refund): its segments stay, marked unbilled."""
        key = sub.id.lower()
        for seg in [*self._closed, *([self._open[key]] if key in self._open else [])]:
            if seg.subscription_id.lower() == key:
                seg.billed, seg.refunded = False, True

    def segments(self) -> list[Segment]:
        """Every segment, closed and open."""
        return [*self._closed, *self._open.values()]

    def days(
        self,
        now: dt.datetime,
        *,
        since: dt.datetime | None = None,
        customer_id: str | None = None,
        subscription_id: str | None = None,
        names: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """One row per (day, subscription) in which it was active or suspended.

        Rows carry ``billed`` (the owner pays that day) and ``inService`` (the customer can use
        it, i.e. ``active``); dates are UTC days from ``since`` (default: world load) to today.
        """
        first = (since or self.since).date()
        rows: list[dict[str, Any]] = []
        for seg in self.segments():
            if customer_id and seg.customer_id.lower() != customer_id.lower():
                continue
            if subscription_id and seg.subscription_id.lower() != subscription_id.lower():
                continue
            day = max(first, seg.start.date())
            while day <= now.date():
                moment = min(now, dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC))
                if seg.end is not None and moment >= seg.end:
                    break
                if moment >= seg.start:
                    rows.append(_row(seg, day, names or {}))
                day += dt.timedelta(days=1)
        rows.sort(key=lambda r: (r["date"], r["subscriptionId"]))
        return rows


def _row(seg: Segment, day: dt.date, names: dict[str, str]) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "partnerTenantId": seg.partner_id,
        "partner": names.get(seg.partner_id, seg.partner_id),
        "customerId": seg.customer_id,
        "subscriptionId": seg.subscription_id,
        "offerId": seg.offer_id,
        "quantity": seg.quantity,
        "status": seg.status,
        "billed": seg.billed,
        "inService": seg.status == "active",
    }


class History:
    """An append-only log of every write (API, provisioning or control), for chaos tests."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def record(
        self,
        now: dt.datetime,
        action: str,
        *,
        partner_id: str = "",
        customer_id: str = "",
        subscription_id: str = "",
        request_id: str = "",
        changes: dict[str, Any] | None = None,
        origin: str = "api",
    ) -> None:
        """Append one event; ``changes`` maps a field to ``[old, new]``."""
        self.events.append(
            {
                "seq": len(self.events) + 1,
                "time": iso(now),
                "action": action,
                "origin": origin,
                "partnerTenantId": partner_id,
                "customerId": customer_id,
                "subscriptionId": subscription_id,
                "requestId": request_id,
                "changes": changes or {},
            }
        )


class Requests:
    """The API requests served (reads too), newest last, for tests and benchmarks that count
    what a client sent: ``seq``, ``time`` (emulator clock), ``partnerTenantId`` (empty when
    the caller was not signed in as a partner), ``method``, ``path`` (as sent, ``/v1/...``),
    ``query`` (lower-cased keys) and ``status``. Bounded: the oldest are dropped past
    ``limit`` (``seq`` keeps counting)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=limit)
        self._count = 0

    def record(
        self,
        now: dt.datetime,
        *,
        partner_id: str,
        method: str,
        path: str,
        query: dict[str, str],
        status: int,
    ) -> None:
        """Append one served request."""
        self._count += 1
        self.events.append(
            {
                "seq": self._count,
                "time": iso(now),
                "partnerTenantId": partner_id,
                "method": method,
                "path": path,
                "query": dict(query),
                "status": status,
            }
        )

    def after(self, seq: int) -> list[dict[str, Any]]:
        """Copies of the requests with ``seq`` greater than ``seq``."""
        return [dict(e) for e in self.events if e["seq"] > seq]
