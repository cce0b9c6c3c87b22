"""What becomes of a source subscription: resolve the manifest's ``becomes`` and the policy into
one concrete strategy, with the reason in words (product rule 4).

Pure: takes the manifest value, the live subscription, the policy and the clock; returns a
``Decision``. It does not check the target side (rule 1 is the planner's job) nor protect flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reconciler import model
from reconciler.planning import actions, verbs

Strategy = actions.Strategy

#: The action that carries out a strategy (from the actions' facts; KEEP and HOLD have none).
ACTION_FOR = {f.strategy: a for a, f in verbs.FACTS.items() if f.strategy is not None}


@dataclass(frozen=True, slots=True)
class Decision:
    strategy: Strategy
    why: str


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
    return Decision(decision.strategy, f"{decision.why}; alternatives: {'; '.join(options)}")


def resolve(
    becomes: model.SourceStrategy,
    sub: model.LiveSubscription,
    policy: model.Policy,
    now: datetime,
) -> Decision:
    """The concrete strategy for a license source subscription and why it was picked; for
    new commerce, where suspension keeps billing, with the alternatives that would not."""
    decision = _resolve(becomes, sub, policy, now)
    if sub.commerce is model.CommerceModel.NCE_LICENSE:
        return _alternatives(decision, sub, now)
    return decision


def _resolve(
    becomes: model.SourceStrategy,
    sub: model.LiveSubscription,
    policy: model.Policy,
    now: datetime,
) -> Decision:
    nce = sub.commerce is model.CommerceModel.NCE_LICENSE
    match becomes:
        case model.SourceStrategy.KEPT:
            return Decision(Strategy.KEEP, "manifest says becomes: kept")
        case model.SourceStrategy.TRANSFERRED:
            return Decision(Strategy.TRANSFER, "manifest says becomes: transferred")
        case model.SourceStrategy.SUSPENDED:
            why = "manifest says becomes: suspended"
            if nce:
                why += (
                    "; new-commerce suspension keeps billing until the term ends on "
                    f"{_day(sub.commitment_end_date)}"
                )
            return Decision(Strategy.SUSPEND, why)
        case model.SourceStrategy.CANCELLED:
            if not nce:
                return Decision(
                    Strategy.SUSPEND,
                    "manifest says becomes: cancelled, but legacy subscriptions are not "
                    "cancelled through the API; suspending stops their billing",
                )
            if cancellable(sub, now):
                return Decision(Strategy.CANCEL, "manifest says becomes: cancelled")
            return Decision(
                Strategy.EXPIRE,
                "manifest says becomes: cancelled, but the cancellation window closed on "
                f"{_day(sub.cancellation_allowed_until)}: auto-renew off instead",
            )
        case _:
            if nce:
                return _nce(policy.nce_strategy, sub, now)
            return Decision(Strategy.SUSPEND, "legacy subscription: suspension stops billing")
