"""Source-side planning for one desired subscription: what becomes of each source
subscription it replaces (suspend, cancel, auto-renew off, keep, hold, nothing left to do).

Rule 1 lives here: a suspension, cancellation or auto-renew change is planned only when the
target will be active, by earlier steps it depends on, with at least the seats of every source
it replaces. Pure: adds changes and warnings to the Builder, decides nothing about the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from reconciler import model
from reconciler.planning import actions, billing, strategy, verbs
from reconciler.planning.builder import COMMERCE, Builder, Outlook, subscription_fields
from reconciler.planning.matching import GONE

A = actions.Action
#: ``actions.Address(...)``: its faster constructor (once per change).
_new_address = actions.new_address
R = actions.Reason
S = strategy.Strategy

#: The actions that write (``Action.writes``, a property), looked up once per change.
_WRITES = frozenset(a for a in A if a.writes)
#: The commerce models ``resolve_sources`` decides a strategy for (``is_license``).
_LICENSE = frozenset(c for c in model.CommerceModel if c.is_license)
#: A source in one of these no longer serves users (``_short_after_the_move``).
_STOPPED = frozenset({model.SubscriptionStatus.SUSPENDED, *GONE})
#: The statuses a source may be written in (``_target_ready``), looked up once.
_ACTIVE, _SUSPENDED = model.SubscriptionStatus.ACTIVE, model.SubscriptionStatus.SUSPENDED
#: No transfer blocks (``resolve_sources`` without ``blocked``); only read.
_NO_BLOCKS: Mapping[str, str] = {}
_NO_LIVES: Mapping[int, model.LiveSubscription] = {}
_new_pair_strategy = actions.new_pair_strategy


class Source(NamedTuple):
    """A replaced source subscription as read (None when absent) and its decided fate.

    A named tuple, not a frozen dataclass: one is made per pair, and a tuple is made in a
    third of the time."""

    replacement: model.Replacement
    live: model.LiveSubscription | None
    decision: strategy.Decision | None
    #: The source tenant it is declared in, where it is read and handled.
    tenant: str


#: Makes a ``Source`` from a 4-tuple without the named tuple's Python-level ``__new__``.
_new_source = tuple.__new__


def resolve_sources(
    b: Builder,
    ds: model.DesiredSubscription,
    blocked: Mapping[str, str] | None = None,
    lives: Mapping[int, model.LiveSubscription] | None = None,
) -> list[Source]:
    """Read every replaced subscription in its own source tenant and decide its strategy
    (None when nothing can be decided: absent, already gone, or not a license subscription).
    ``blocked``: source subscription id -> why a transfer cannot move it. ``lives``: the
    subscriptions already looked up, by ``id()`` of their replacement (planning.customer's
    ``_missing_sources`` fills it; a replacement not in it is looked up here)."""
    found: list[Source] = []
    why_not = blocked or _NO_BLOCKS
    own = b.customer.source
    known = lives or _NO_LIVES
    for r in ds.replaces:
        tenant = r.source or own  # ``customer.source_of``, inlined (per pair)
        live = known.get(id(r)) or b.source_subscription(r.subscription_id, tenant)
        decision = None
        if live is not None and live.status not in GONE and live.commerce in _LICENSE:
            decision = strategy.resolve(r.becomes, live, b.policy, b.now, why_not.get(live.id))
        # tuple.__new__, not Source(...): the named tuple's __new__ is a Python function
        # (speed, once per pair).
        found.append(_new_source(Source, (r, live, decision, tenant)))
    return found


def record(b: Builder, ds: model.DesiredSubscription, src: Source, protected: bool) -> None:
    """The pair's strategy in the plan: how the source moves, why, what was rejected."""
    _, s, d, tenant = src  # one unpacking, not three attribute reads (speed)
    if s is None:
        return
    if d is None:
        why = (
            f"nothing left to move: the source is {s.status.value}"
            if s.status in GONE
            else f"{s.commerce.value} is not a license subscription; declare Azure under azure:"
        )
        b.record(tenant, s, ds.key, actions.Route.NONE, why)
        return
    chosen = d.strategy
    route = strategy.ROUTE.get(chosen, actions.Route.REPROVISION)  # ``d.route``, per pair
    if protected and chosen is not S.KEEP:
        why = d.why + "; held by a protect flag: nothing is done while it is set"
        action: actions.Strategy | None = S.HOLD
    else:
        why, action = d.why, None if chosen is S.TRANSFER else chosen
    # ``b.record``, inlined (once per pair).
    c = b.customer
    b.strategies.append(
        _new_pair_strategy(  # ``actions.PairStrategy(...)``, its faster constructor (per pair)
            tenant,
            c.tenant_id,
            c.name,
            s.id,
            ds.key,
            COMMERCE[s.commerce],
            route,
            why,
            action,
            d.rejected,
        )
    )


def seats_to_cover(sources: Iterable[tuple[int, actions.Strategy | None]]) -> int:
    """Seats the target must have before any of these sources may stop serving users: the
    seats of every one whose strategy stops it serving (``verbs.STOPS_SERVING``). Rule 1's
    arithmetic, here only: the planner and apply's re-check right before a write both call it
    with (seats, strategy) pairs."""
    # A loop, not sum() over a generator: called once per desired entry.
    total = 0
    for seats, chosen in sources:
        if chosen in verbs.STOPS_SERVING:
            total += seats
    return total


def _already_done(s: model.LiveSubscription, chosen: strategy.Strategy) -> str | None:
    if chosen is S.SUSPEND and s.status is model.SubscriptionStatus.SUSPENDED:
        return "already suspended"
    if chosen is S.EXPIRE and not s.auto_renew:
        return "auto-renew already off"
    return None


def _one(
    b: Builder,
    ds: model.DesiredSubscription,
    src: Source,
    outlook: Outlook,
    required: int,
    protected: bool,
) -> None:
    """Plan one source: already gone, not a license, moving by transfer, or decided (one
    function, not two: it runs once per pair)."""
    replacement, s, decision, tenant = src  # one unpacking, not four attribute reads (speed)
    if s is None:
        return  # never reached: planning.customer refuses a customer with a missing source
    if s.status in GONE:
        address = b.address(tenant, replacement.subscription_id, ds.key)
        before = subscription_fields(s)
        b.add(A.NOOP, address, R.ALREADY_DONE, f"{s.id} is {s.status.value}", before=before)
        return
    if decision is None:
        b.warn(
            "not-license",
            f"{b.who()}: source subscription {s.id} ({s.offer_id}) is {s.commerce.value}, not "
            "a license subscription; declare Azure subscriptions under azure:",
        )
        return
    chosen = decision.strategy
    if chosen is S.TRANSFER and not protected:
        _transfer_left(b, ds, s)
        return
    # A live license source whose strategy is decided: held, kept, already done, or its
    # action once the target is ready (rule 1). The branches pick the change; its common
    # fields (address, before-image, overlap, deadlines) are computed once below, and only
    # when a change is made.
    plan_strategy: actions.Strategy | None = chosen
    shown = chosen
    warn_overlap = True
    status = s.status
    if protected and chosen is not S.KEEP:
        action, reason = A.HOLD, R.PROTECTED
        detail = f"protected by the manifest: {s.id} is left as it is (otherwise: {decision.why})"
        plan_strategy, shown = None, S.HOLD
    elif chosen is S.KEEP:
        action, reason, detail = A.NOOP, R.KEPT_BY_MANIFEST, decision.why
    elif (chosen is S.SUSPEND and status is _SUSPENDED) or (
        chosen is S.EXPIRE and not s.auto_renew
    ):
        # ``_already_done``'s two tests, inlined (once per pair); it words the note.
        action, reason = A.NOOP, R.ALREADY_DONE
        detail = f"{_already_done(s, chosen)} ({decision.why})"
        warn_overlap = False
    elif not (
        # ``_target_ready``'s tests, inlined (once per pair); it is called, to say why, only
        # when one fails.
        outlook.usable
        and outlook.quantity >= required
        and (status is _ACTIVE or status is _SUSPENDED)
    ) and not _target_ready(b, ds, s, outlook, required):
        return
    else:
        action, reason = strategy.ACTION_FOR[chosen], R.REPLACED
        detail = f"{s.id} ({s.quantity} seats) is replaced by {ds.key}; {decision.why}"
    now = b.now
    overlap = billing.overlap(plan_strategy, s, outlook.billing_from, now)
    writes = action in _WRITES
    c = b.customer
    b.add(
        action,
        # ``b.address``, inlined (once per pair).
        _new_address(tenant, c.tenant_id, c.name, replacement.subscription_id, ds.key),
        reason,
        detail,
        before=subscription_fields(s),
        overlap=overlap,
        deadlines=billing.deadlines(s, plan_strategy, now),
        strategy=shown,
        depends_on=outlook.deps if writes else (),
        # Shared, never mutated: readers copy it (``planfile``, ``applying``).
        after=_AFTER.get(chosen, _AUTO_RENEW_OFF) if writes else None,
    )
    if warn_overlap:
        tolerance = b.policy.billing_overlap_tolerance_days
        if overlap.days is None or overlap.days > tolerance:  # checked here: once per pair
            _overlap_warning(b, s, overlap, tolerance)


def _transfer_left(b: Builder, ds: model.DesiredSubscription, s: model.LiveSubscription) -> None:
    """A source whose strategy is a transfer: the target side's TRANSFER change carries it,
    or (the target already exists) nothing is requested and the user is told."""
    if b.planned(A.TRANSFER, s.id):
        return
    b.warn(
        "transfer-superseded",
        f"{b.who()}: {ds.key} already exists in the target, yet source {s.id} is still "
        f"{s.status.value}; no transfer is requested, check it by hand",
    )


#: The after-image of a source's write, per strategy (``_AUTO_RENEW_OFF`` for the others):
#: made once and shared by every change, as nothing mutates a change's ``after``.
_AFTER: dict[strategy.Strategy, dict[str, actions.Scalar]] = {
    S.SUSPEND: {"status": "suspended"},
    S.CANCEL: {"status": "deleted"},
}
_AUTO_RENEW_OFF: dict[str, actions.Scalar] = {"auto_renew": False}


def _target_ready(
    b: Builder,
    ds: model.DesiredSubscription,
    s: model.LiveSubscription,
    outlook: Outlook,
    required: int,
) -> bool:
    if not outlook.usable:
        b.warn(
            "target-not-ready",
            f"{b.who()}: source {s.id} stays as it is because the target for {ds.key} "
            f"cannot be relied on: {outlook.why_not}",
        )
        return False
    if outlook.quantity < required:
        b.warn(
            "insufficient-seats",
            f"{b.who()}: source {s.id} stays as it is because the target for {ds.key} will "
            f"have {outlook.quantity} seats but the sources it replaces have {required}; raise "
            f"quantity at {ds.origin}",
        )
        return False
    if s.status is not model.SubscriptionStatus.ACTIVE and s.status is not (
        model.SubscriptionStatus.SUSPENDED
    ):
        b.warn("source-status", f"{b.who()}: source {s.id} is {s.status.value}; left alone")
        return False
    return True


def _overlap_warning(
    b: Builder, s: model.LiveSubscription, overlap: actions.Overlap, tolerance: int
) -> None:
    """Both tenants bill longer than the policy's tolerance (open-ended, or more days)."""
    span = "open-ended" if overlap.days is None else f"{overlap.days} days"
    b.warn(
        "billing-overlap",
        f"{b.who()}: source {s.id} and its replacement both bill for {span} "
        f"(tolerance {tolerance}): {overlap.note}",
    )


def plan_sources(
    b: Builder,
    ds: model.DesiredSubscription,
    sources: Sequence[Source],
    outlook: Outlook,
    protected: bool,
) -> None:
    """Plan the fate of every source subscription ``ds`` replaces."""
    # One pass (once per desired entry) collects rule 1's (seats, strategy) pairs and the
    # sources that already stopped serving users.
    pairs: list[tuple[int, actions.Strategy | None]] = []
    stopped: list[model.LiveSubscription] = []
    for _, s, d, _ in sources:  # a Source, unpacked (speed: once per pair)
        if s is not None and d is not None:
            pairs.append((s.quantity, d.strategy))
            if s.status in _STOPPED and d.strategy in verbs.STOPS_SERVING:
                stopped.append(s)
    required = seats_to_cover(pairs)
    if stopped:
        _short_after_the_move(b, ds, stopped, outlook, required)
    for src in sources:
        _one(b, ds, src, outlook, required, protected)


def _short_after_the_move(
    b: Builder,
    ds: model.DesiredSubscription,
    stopped: Sequence[model.LiveSubscription],
    outlook: Outlook,
    required: int,
) -> None:
    """Sources already suspended or cancelled (``stopped``: their strategy stops them
    serving) no longer serve users: if the target has (or will be resized to) fewer seats than
    they had, the customer is short of licences now. The per-source check only guards sources
    still to be written; this one says it."""
    if outlook.usable and outlook.quantity < required:
        ids = ", ".join(s.id for s in stopped)
        b.warn(
            "seats-below-sources",
            f"{b.who()}: the target for {ds.key} will have {outlook.quantity} seats but its "
            f"sources had {required}, and {ids} no longer serve users: "
            f"{required - outlook.quantity} licences short; raise quantity at {ds.origin}",
        )
