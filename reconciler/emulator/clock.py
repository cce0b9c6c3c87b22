"""The emulator's business clock: wall time that tests can move forward (never backward).

Business rules (NCE cancellation windows, provisioning delays, transfer expiry, billing days,
throttling buckets) read this clock; token expiry does not (tokens are issued on real time by
Entra, and MSAL caches them on real time). This module must not know any business rule.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

UTC = dt.UTC


class Clock:
    """Emulator time = ``start`` + elapsed wall time (unless frozen) + manual advances."""

    def __init__(self, start: dt.datetime | None = None, *, frozen: bool = False) -> None:
        self._start = (start or dt.datetime.now(UTC)).astimezone(UTC)
        self._t0 = time.monotonic()
        self._frozen = frozen
        self._offset = dt.timedelta()
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """The current emulator time (timezone-aware UTC)."""
        elapsed = 0.0 if self._frozen else time.monotonic() - self._t0
        return self._start + dt.timedelta(seconds=elapsed) + self._offset

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        if delta < dt.timedelta():
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()

    @property
    def frozen(self) -> bool:
        """True when time only moves by ``advance`` (deterministic tests)."""
        return self._frozen


def iso(value: dt.datetime | None) -> str | None:
    """Render a datetime the way Partner Center does (UTC, ``Z`` suffix)."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


def day_iso(value: dt.datetime | None) -> str | None:
    """Render the date part only, at midnight UTC (``2024-03-01T00:00:00Z``)."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT00:00:00Z")


def parse_moment(text: object, *, now: dt.datetime) -> dt.datetime:
    """Parse an ISO date/time or a time relative to ``now``: ``now``, ``-200d``, ``+3h``, ``-90m``.

    Used by seed files, so worlds stay valid whatever day they are loaded.
    """
    if isinstance(text, dt.datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    if isinstance(text, dt.date):
        return dt.datetime(text.year, text.month, text.day, tzinfo=UTC)
    raw = str(text).strip()
    if raw == "now":
        return now
    if raw[:1] in "+-" and raw[-1:] in "dhms" and raw[1:-1].replace(".", "", 1).isdigit():
        unit = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[raw[-1]]
        amount = float(raw[1:-1]) * (1 if raw[0] == "+" else -1)
        return now + dt.timedelta(**{unit: amount})
    parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_duration(text: str) -> dt.timedelta:
    """Parse the ISO-8601 durations used for terms (``P1M``, ``P1Y``, ``P3Y``, ``P7D``)."""
    raw = text.strip().upper()
    if not raw.startswith("P") or len(raw) < 3 or not raw[1:-1].isdigit():
        raise ValueError(f"unsupported duration {text!r}")
    amount = int(raw[1:-1])
    days_per_unit = {"D": 1, "W": 7, "M": 30, "Y": 365}
    if raw[-1] not in days_per_unit:
        raise ValueError(f"unsupported duration {text!r}")
    return dt.timedelta(days=amount * days_per_unit[raw[-1]])


def add_term(start: dt.datetime, term: str) -> dt.datetime:
    """End of a term starting at ``start``: calendar months/years, inclusive end day (NCE)."""
    raw = term.strip().upper()
    amount = int(raw[1:-1]) if raw[1:-1].isdigit() else 1
    if raw.endswith(("M", "Y")):
        months = amount * (12 if raw.endswith("Y") else 1)
        month_index = start.month - 1 + months
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, _days_in_month(year, month))
        end = start.replace(year=year, month=month, day=day)
    else:
        end = start + parse_duration(raw)
    return end - dt.timedelta(days=1)


def _days_in_month(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day
