"""What apply reports: the outcome of each step, the run's report, and the executor's
options. Values only; ``executor.py`` produces them and the CLI prints them.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from reconciler.planning import actions


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class StepResult:
    """What happened to one change. ``active`` is False for an ordered subscription that did
    not become active in time (its source was then left untouched)."""

    change: actions.Change
    outcome: Outcome
    message: str
    subscription_id: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class Options:
    activation_timeout: timedelta = timedelta(minutes=30)
    poll_first: float = 2.0
    poll_max: float = 30.0
    #: Extra sends with the same MS-RequestId after an unknown outcome, before looking.
    same_id_retries: int = 1
    #: Customers applied at once (1: every change in plan order, one at a time).
    parallelism: int = 1
    #: How long after sending an order with a lost answer it may still be missing from the
    #: order list (Partner Center: up to 15 minutes); looked for until then, never re-sent.
    order_list_lag: timedelta = timedelta(minutes=15)


@dataclass(slots=True)
class ApplyReport:
    run_id: str
    plan_id: str
    steps: list[StepResult] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for s in self.steps if s.outcome is outcome)

    @property
    def clean(self) -> bool:
        """True when every step succeeded and every ordered subscription is active."""
        return all(s.outcome is Outcome.SUCCEEDED and s.active for s in self.steps)


class Stage(enum.StrEnum):
    """Where a write belongs in apply's progress display (one bar each)."""

    #: Target side: creates, resizes, reactivations, transfers and their acceptance.
    TARGETS = "targets"
    #: Source side: suspensions, cancellations, auto-renew turned off.
    SOURCES = "sources"


#: The actions that stop a source subscription (or its renewal); every other write is target
#: side work.
_SOURCE_ACTIONS = frozenset(
    {actions.Action.SUSPEND, actions.Action.CANCEL, actions.Action.DISABLE_AUTO_RENEW}
)


def stage_of(action: actions.Action) -> Stage:
    return Stage.SOURCES if action in _SOURCE_ACTIONS else Stage.TARGETS


def stage_totals(changes: Iterable[actions.Change]) -> dict[Stage, int]:
    """How many of ``changes`` each stage has (every stage named, 0 when empty)."""
    counts = Counter(stage_of(c.action) for c in changes)
    return {stage: counts[stage] for stage in Stage}


@dataclass(frozen=True, slots=True)
class Activity:
    """What the executor's workers are doing, for a progress display: customers a worker is
    on, and how many of those are waiting (for provisioning, a transfer or an order to be
    listed) rather than sending."""

    in_flight: int
    waiting: int
