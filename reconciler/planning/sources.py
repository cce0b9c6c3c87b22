"""Source-side planning for one desired subscription: what becomes of each source
subscription it replaces (suspend, cancel, auto-renew off, keep, hold, nothing left to do).

Rule 1 lives here: a suspension, cancellation or auto-renew change is planned only when the
target will be active, by earlier steps it depends on, with at least the seats of every source
it replaces. Pure: adds changes and warnings to the Builder, decides nothing about the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler import model
from reconciler.planning import actions, billing, strategy, verbs
from reconciler.planning.builder import Builder, Outlook, subscription_fields
from reconciler.planning.matching import GONE

A = actions.Action
R = actions.Reason
S = strategy.Strategy


@dataclass(frozen=True, slots=True)
class Source:
    """A replaced source subscription as read (None when absent) and its decided fate."""

    replacement: model.Replacement
    live: model.LiveSubscription | None
    decision: strategy.Decision | None
    #: The source tenant it is declared in, where it is read and handled.
    tenant: str


def resolve_sources(
    b: Builder, ds: model.DesiredSubscription, blocked: Mapping[str, str] | None = None
) -> list[Source]:
    """Read every replaced subscription in its own source tenant and decide its strategy
    (None when nothing can be decided: absent, already gone, or not a license subscription).
    ``blocked``: source subscription id -> why a transfer cannot move it."""
    found: list[Source] = []
    for r in ds.replaces:
        tenant = b.customer.source_of(r)
        live = b.source_subscription(r.subscription_id, tenant)
        decision = None
        if live is not None and live.status not in GONE and live.commerce.is_license:
            why_not = (blocked or {}).get(live.id)
            decision = strategy.resolve(r.becomes, live, b.policy, b.now, why_not)
        found.append(Source(r, live, decision, tenant))
    return found


def record(b: Builder, ds: model.DesiredSubscription, src: Source, protected: bool) -> None:
    """The pair's strategy in the plan: how the source moves, why, what was rejected."""
    s, d = src.live, src.decision
    if s is None:
        return
    if d is None:
        why = (
            f"nothing left to move: the source is {s.status.value}"
            if s.status in GONE
            else f"{s.commerce.value} is not a license subscription; declare Azure under azure:"
        )
        b.record(src.tenant, s, ds.key, actions.Route.NONE, why)
        return
    action: actions.Strategy | None = None if d.strategy is S.TRANSFER else d.strategy
    why = d.why
    if protected and d.strategy is not S.KEEP:
        action = S.HOLD
        why += "; held by a protect flag: nothing is done while it is set"
    b.record(src.tenant, s, ds.key, d.route, why, action, d.rejected)


def seats_to_cover(sources: Iterable[tuple[int, actions.Strategy | None]]) -> int:
    """Seats the target must have before any of these sources may stop serving users: the
    seats of every one whose strategy stops it serving (``verbs.STOPS_SERVING``). Rule 1's
    arithmetic, here only: the planner and apply's re-check right before a write both call it
    with (seats, strategy) pairs."""
    return sum(seats for seats, chosen in sources if chosen in verbs.STOPS_SERVING)


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
    r, s, decision = src.replacement, src.live, src.decision
    address = b.address(src.tenant, r.subscription_id, ds.key)
    if s is None:
        return  # never reached: planning.customer refuses a customer with a missing source
    if s.status in GONE:
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
    if decision.strategy is S.TRANSFER and not protected:
        _transfer_left(b, ds, s)
        return
    _decided(b, ds, s, decision, address, outlook, required, protected)


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


def _decided(
    b: Builder,
    ds: model.DesiredSubscription,
    s: model.LiveSubscription,
    decision: strategy.Decision,
    address: actions.Address,
    outlook: Outlook,
    required: int,
    protected: bool,
) -> None:
    """Plan a live license source whose strategy is decided: held, kept, already done, or its
    action once the target is ready (rule 1)."""
    chosen = decision.strategy
    before = subscription_fields(s)
    held = protected and chosen is not S.KEEP
    plan_strategy = None if held else chosen
    overlap = billing.overlap(plan_strategy, s, outlook.billing_from, b.now)
    deadlines = billing.deadlines(s, plan_strategy, b.now)

    def emit(action: actions.Action, reason: actions.Reason, detail: str) -> None:
        b.add(
            action,
            address,
            reason,
            detail,
            before=before,
            overlap=overlap,
            deadlines=deadlines,
            strategy=S.HOLD if held else chosen,
            depends_on=outlook.deps if action.writes else (),
            after=_after(chosen) if action.writes else None,
        )

    if held:
        emit(
            A.HOLD,
            R.PROTECTED,
            f"protected by the manifest: {s.id} is left as it is (otherwise: {decision.why})",
        )
        _overlap_warning(b, s, overlap)
        return
    if chosen is S.KEEP:
        emit(A.NOOP, R.KEPT_BY_MANIFEST, decision.why)
        _overlap_warning(b, s, overlap)
        return
    done = _already_done(s, chosen)
    if done:
        emit(A.NOOP, R.ALREADY_DONE, f"{done} ({decision.why})")
        return
    if not _target_ready(b, ds, s, outlook, required):
        return
    emit(
        strategy.ACTION_FOR[chosen],
        R.REPLACED,
        f"{s.id} ({s.quantity} seats) is replaced by {ds.key}; {decision.why}",
    )
    _overlap_warning(b, s, overlap)


def _after(chosen: strategy.Strategy) -> dict[str, actions.Scalar]:
    if chosen is S.SUSPEND:
        return {"status": "suspended"}
    if chosen is S.CANCEL:
        return {"status": "deleted"}
    return {"auto_renew": False}


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


def _overlap_warning(b: Builder, s: model.LiveSubscription, overlap: actions.Overlap) -> None:
    tolerance = b.policy.billing_overlap_tolerance_days
    if overlap.days is not None and overlap.days <= tolerance:
        return
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
    required = seats_to_cover(
        (s.live.quantity, s.decision.strategy)
        for s in sources
        if s.live is not None and s.decision is not None
    )
    _short_after_the_move(b, ds, sources, outlook, required)
    for src in sources:
        _one(b, ds, src, outlook, required, protected)


def _short_after_the_move(
    b: Builder,
    ds: model.DesiredSubscription,
    sources: Sequence[Source],
    outlook: Outlook,
    required: int,
) -> None:
    """Sources already suspended or cancelled no longer serve users: if the target has (or
    will be resized to) fewer seats than they had, the customer is short of licences now.
    The per-source check only guards sources still to be written; this one says it."""
    stopped = [
        s.live
        for s in sources
        if s.live is not None
        and s.live.status in (model.SubscriptionStatus.SUSPENDED, *GONE)
        and s.decision is not None
        and s.decision.strategy in verbs.STOPS_SERVING
    ]
    if stopped and outlook.usable and outlook.quantity < required:
        ids = ", ".join(s.id for s in stopped)
        b.warn(
            "seats-below-sources",
            f"{b.who()}: the target for {ds.key} will have {outlook.quantity} seats but its "
            f"sources had {required}, and {ids} no longer serve users: "
            f"{required - outlook.quantity} licences short; raise quantity at {ds.origin}",
        )
