"""The two guards apply runs before it asks a source partner for a transfer: the live one (a
request from that source is still open in the target's list) and the journal one (our own
journal says we asked lately, and the list does not show that request yet).

Pure functions over values the executor read; this module must NOT read, write or journal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from reconciler import model

#: Partner-to-partner transfer requests expire when unanswered (partner-center-api.md §3.10).
TRANSFER_EXPIRY = timedelta(days=30)
#: Clock skew allowed between our journal and Partner Center's createdTime.
SLACK = timedelta(minutes=5)


def open_request(known: Sequence[model.LiveTransfer], now: datetime) -> model.LiveTransfer | None:
    """The request (newest first) that may still complete, if any: a second one would be a
    duplicate, whichever subscriptions it carries (Partner Center answers 409 900101)."""
    found = [t for t in known if t.is_open(now)]
    found.sort(key=lambda t: (t.created_at is not None, t.created_at or now), reverse=True)
    return found[0] if found else None


def already_pending(known: Sequence[model.LiveTransfer], now: datetime, source: str) -> str | None:
    """Why no request is sent: one from ``source`` is still open (None: none is)."""
    found = open_request(known, now)
    if found is None:
        return None
    since = f" on {found.created_at.isoformat()}" if found.created_at else ""
    return (
        f"transfer {found.id} from {source} is already pending (requested{since}); "
        f"waiting for {source} to accept it"
    )


def journal_blocks(
    sid: str,
    journalled: Mapping[str, tuple[str, str]],
    known: Sequence[model.LiveTransfer],
    now: datetime,
) -> str | None:
    """Why the journal forbids a request for ``sid`` (None: it does not).

    The journal says run R asked at T, less than 30 days ago, and no request created from T on
    is listed: the list may lag behind, so nothing is sent twice. A request listed from T on
    (even an ended one) proves the list caught up, and then the live answer stands.
    """
    earlier = journalled.get(sid)
    if not earlier:
        return None
    run_id, ts = earlier
    at = datetime.fromisoformat(ts)
    if now - at >= TRANSFER_EXPIRY:
        return None
    if any(t.created_at is not None and t.created_at >= at - SLACK for t in known):
        return None
    return (
        f"a transfer of {sid} was already requested by run {run_id} at {ts}, yet Partner "
        "Center does not list that request; nothing is sent twice: check the transfer in "
        "Partner Center, then plan again"
    )
