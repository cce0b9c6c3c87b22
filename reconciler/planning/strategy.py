"""What becomes of a source subscription: resolve the manifest's ``becomes`` and the policy into
one concrete strategy, with the reason in words (product rule 4) and the routes rejected.

Transfer first (issue 12): under ``moveBy: transfer-first`` (the default) a new-commerce
license with ``becomes: auto`` moves by partner-to-partner transfer unless
``planning.eligibility`` says why it cannot; then it falls back to re-provisioning
(``nceSourceStrategy``) and says so. A legacy license is re-provisioned: its new-commerce
successor is bought and it is suspended the same day.

Pure: takes the manifest value, the live subscription, the policy, the clock and the transfer
block (if any); returns a ``Decision``. It does not check the target side (rule 1 is the
planner's job) nor protect flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reconciler import model
from reconciler.planning import actions, verbs

Strategy = actions.Strategy
Route = actions.Route
Rejected = actions.Rejected

#: The action that carries out a strategy (from the actions' facts; KEEP and HOLD have none).
ACTION_FOR = {f.strategy: a for a, f in verbs.FACTS.items() if f.strategy is not None}
#: The route of the strategies that are not a re-provisioning (``Decision.route``).
ROUTE = {Strategy.TRANSFER: Route.TRANSFER, Strategy.KEEP: Route.KEEP}


@actions.fast_init  # speed: up to three are made for a pair that falls back
@dataclass(frozen=True, slots=True)
class Decision:
    strategy: Strategy
    why: str
    #: The routes not taken, each with why.
    rejected: tuple[actions.Rejected, ...] = ()

    @property
    def route(self) -> Route:
        """How the pair moves: a transfer, kept, or re-provisioned (bought in the target, then
        the source stopped by this strategy)."""
        return ROUTE.get(self.strategy, Route.REPROVISION)


#: Why re-buying was rejected for a pair that can transfer.
REBUY_REJECTED = Rejected(
    Route.REPROVISION,
    "buying it again in the target bills both tenants until the source is cancelled inside "
    "its 7-day window or its term ends",
)
#: Why a transfer was rejected under ``moveBy: re-provision``.
_REPROVISION_POLICY = Rejected(Route.TRANSFER, "the policy says moveBy: re-provision")
#: Why a transfer was rejected for a legacy license.
LEGACY_NO_TRANSFER = Rejected(
    Route.TRANSFER,
    "new-commerce partner-to-partner transfers do not carry legacy offers, and Microsoft's "
    "legacy transfer route is not automated by this tool",
)


#: Why a transfer was rejected for a pair whose manifest names its fate, per ``becomes``.
_SAID = {
    b: Rejected(Route.TRANSFER, f"the manifest says becomes: {b.value}")
    for b in model.SourceStrategy
}


def cancellable(sub: model.LiveSubscription, now: datetime) -> bool:
    """True when the subscription's own cancellation window is still open at ``now``."""
    until = sub.cancellation_allowed_until
    return until is not None and now < until


def _day(at: datetime | None) -> str:
    return at.date().isoformat() if at else "an unknown date"


def _nce(strategy: model.NceStrategy, sub: model.LiveSubscription, now: datetime) -> Decision:
    until = sub.cancellation_allowed_until
    if strategy is model.NceStrategy.TRANSFER:
        return Decision(Strategy.TRANSFER, "policy nceSourceStrategy=transfer: billing moves")
    if strategy is model.NceStrategy.SUSPEND:
        return Decision(
            Strategy.SUSPEND,
            "policy nceSourceStrategy=suspend; new-commerce suspension keeps billing until "
            f"the term ends on {_day(sub.commitment_end_date)}",
        )
    if strategy is model.NceStrategy.EXPIRE:
        return Decision(Strategy.EXPIRE, "policy nceSourceStrategy=expire: auto-renew off")
    if cancellable(sub, now):
        return Decision(
            Strategy.CANCEL,
            f"new commerce, cancellation window open until {_day(until)}: cancel for a "
            "prorated refund",
        )
    closed = f"closed on {_day(until)}" if until else "closed"
    return Decision(
        Strategy.EXPIRE,
        f"new commerce, cancellation window {closed}: auto-renew off, the term ends on "
        f"{_day(sub.commitment_end_date)}",
    )


#: The new-commerce picks that leave the source billing (``_alternatives``).
_LEAVES_BILLING = frozenset({Strategy.SUSPEND, Strategy.EXPIRE})


def _alternatives(decision: Decision, sub: model.LiveSubscription, now: datetime) -> Decision:
    """Rule 4: when a new-commerce pick leaves the source billing (suspend, auto-renew off),
    say what would not: a transfer always, a cancellation while the window is open."""
    if decision.strategy not in (Strategy.SUSPEND, Strategy.EXPIRE):
        return decision
    options = []
    if cancellable(sub, now):
        options.append(
            f"cancel before {_day(sub.cancellation_allowed_until)} (becomes: cancelled) for a "
            "prorated refund"
        )
    options.append("a partner-to-partner transfer (becomes: transferred) moves the billing")
    why = f"{decision.why}; alternatives: {'; '.join(options)}"
    return Decision(decision.strategy, why, decision.rejected)


def resolve(
    becomes: model.SourceStrategy,
    sub: model.LiveSubscription,
    policy: model.Policy,
    now: datetime,
    blocked: str | None = None,
) -> Decision:
    """The concrete strategy for a license source subscription and why it was picked; for
    new commerce, where suspension keeps billing, with the alternatives that would not.
    ``blocked`` says why a transfer cannot move it (``planning.eligibility``), None if it can."""
    # ``becomes: auto`` (the default) first: _resolve's match would test every other value.
    if becomes is model.SourceStrategy.AUTO:
        # _auto's two commonest answers, inlined (once per pair): neither leaves an NCE
        # source billing, so neither needs alternatives.
        if sub.commerce is not model.CommerceModel.NCE_LICENSE:
            return _LEGACY
        if blocked is None and policy.prefers_transfer:
            return _TRANSFER_FIRST[policy.move_by]
        decision = _auto(sub, policy, now, blocked)
    else:
        decision = _resolve(becomes, sub, policy, now, blocked)
    if sub.commerce is model.CommerceModel.NCE_LICENSE and decision.strategy in _LEAVES_BILLING:
        return _alternatives(decision, sub, now)
    return decision


def _fallback(
    sub: model.LiveSubscription, policy: model.Policy, now: datetime, blocked: str, asked: str
) -> Decision:
    """Re-provisioning when a transfer was wanted (``asked`` says by whom) but is blocked."""
    if sub.commerce is model.CommerceModel.NCE_LICENSE:
        nce = policy.nce_strategy
        chosen = _nce(model.NceStrategy.CANCEL_OR_EXPIRE if nce is nce.TRANSFER else nce, sub, now)
    else:
        chosen = _LEGACY
    return Decision(
        chosen.strategy,
        f"{asked}, but a transfer cannot move it: {blocked}; so it is re-provisioned "
        f"instead: {chosen.why}",
        (Rejected(Route.TRANSFER, blocked),),
    )


#: A legacy license's decision: the same for every one, so made once (``Decision`` is frozen).
_LEGACY = Decision(
    Strategy.SUSPEND,
    "legacy license: its new-commerce successor is bought in the target and this one is "
    "suspended the same day (suspension stops legacy billing)",
    (LEGACY_NO_TRANSFER,),
)


#: A new-commerce pair moving by transfer under ``becomes: auto``, per policy ``moveBy``:
#: made once (the decision depends on nothing else).
_TRANSFER_FIRST = {
    m: Decision(
        Strategy.TRANSFER,
        f"new commerce under policy moveBy: {m.value}: a partner-to-partner transfer moves the "
        "subscription and its billing to the target; nothing is bought and nothing is suspended",
        (REBUY_REJECTED,),
    )
    for m in model.MoveBy
}


def _auto(
    sub: model.LiveSubscription, policy: model.Policy, now: datetime, blocked: str | None
) -> Decision:
    if sub.commerce is not model.CommerceModel.NCE_LICENSE:
        return _LEGACY
    if not policy.prefers_transfer:
        d = _nce(policy.nce_strategy, sub, now)
        return Decision(d.strategy, d.why, (_REPROVISION_POLICY,))
    if blocked is not None:
        asked = f"new commerce under policy moveBy: {policy.move_by.value}"
        return _fallback(sub, policy, now, blocked, asked)
    return _TRANSFER_FIRST[policy.move_by]


def _resolve(
    becomes: model.SourceStrategy,
    sub: model.LiveSubscription,
    policy: model.Policy,
    now: datetime,
    blocked: str | None,
) -> Decision:
    nce = sub.commerce is model.CommerceModel.NCE_LICENSE
    said = _SAID[becomes]
    match becomes:
        case model.SourceStrategy.KEPT:
            return Decision(Strategy.KEEP, "manifest says becomes: kept", (said,))
        case model.SourceStrategy.TRANSFERRED:
            if blocked is not None:
                return _fallback(
                    sub, policy, now, blocked, "the manifest says becomes: transferred"
                )
            return Decision(
                Strategy.TRANSFER, "manifest says becomes: transferred", (REBUY_REJECTED,)
            )
        case model.SourceStrategy.SUSPENDED:
            why = "manifest says becomes: suspended"
            if nce:
                why += (
                    "; new-commerce suspension keeps billing until the term ends on "
                    f"{_day(sub.commitment_end_date)}"
                )
            return Decision(Strategy.SUSPEND, why, (said,))
        case model.SourceStrategy.CANCELLED:
            if not nce:
                return Decision(
                    Strategy.SUSPEND,
                    "manifest says becomes: cancelled, but legacy subscriptions are not "
                    "cancelled through the API; suspending stops their billing",
                    (said,),
                )
            if cancellable(sub, now):
                return Decision(Strategy.CANCEL, "manifest says becomes: cancelled", (said,))
            return Decision(
                Strategy.EXPIRE,
                "manifest says becomes: cancelled, but the cancellation window closed on "
                f"{_day(sub.cancellation_allowed_until)}: auto-renew off instead",
                (said,),
            )
        case _:
            return _auto(sub, policy, now, blocked)
