"""What a change does and why: the closed set of actions, every fact about each action in one
table (``FACTS``), the reasons that explain changes and the source strategies.

Ordering, the renderers and apply's re-checks read an action's facts from ``FACTS`` (through
``Action.facts``) instead of keeping tables of their own; apply's handler per writing action is
the only other per-action table (``applying/executor.py``, ``HANDLERS``). A test walks every
``Action`` through both, so a new action without its facts or its handler fails the build
(docs/architecture.md, "How to add an action").

``planning/actions.py`` re-exports ``Action``, ``Reason`` and ``Strategy`` under the names the
rest of the code uses (``actions.Action``). Data only: no I/O, nothing imported beyond the
standard library and the shared model (for the policy a cap reads).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from reconciler import model


class Action(enum.StrEnum):
    """What a change does. A closed set: apply dispatches on these values and nothing else."""

    #: Gate: the customer's Global Admin must accept the target's reseller invitation.
    INVITE = "invite"
    #: Gate: the customer's acceptance of the Microsoft Customer Agreement must be confirmed
    #: (or could not be read) before anything is bought for it in the target.
    CONFIRM_AGREEMENT = "confirm-agreement"
    #: Record the customer's acceptance of the Microsoft Customer Agreement in the target, as
    #: the manifest's ``customerAgreement`` gives it (``POST .../agreements``, App+User).
    #: Done when the target lists a confirmed acceptance; the customer's purchases wait for it.
    RECORD_AGREEMENT = "record-agreement"
    #: Order a target subscription (new-commerce ids through a cart, legacy offers through an
    #: order). The friendly name carries ``marker(key)``. Done when the subscription is active.
    CREATE = "create"
    #: Set a target subscription's license count to ``after["quantity"]``.
    RESIZE = "resize"
    #: Set a suspended target subscription back to active.
    REACTIVATE = "reactivate"
    #: Request a partner-to-partner transfer of a source subscription (created by the target).
    TRANSFER = "transfer"
    #: Gate: the source partner must accept the transfer request (``transferAcceptance:
    #: manual``), or a request already accepted elsewhere must finish.
    ACCEPT_TRANSFER = "accept-transfer"
    #: Accept the transfer request on the source with the source tenant's credentials, naming
    #: the subscription; done when its target subscription is active with the seats.
    ACCEPT = "accept"
    #: Gate: the target subscription is still provisioning (status pending).
    AWAIT_ACTIVATION = "await-activation"
    #: Suspend a source subscription (legacy: stops billing; NCE: billing continues).
    SUSPEND = "suspend"
    #: Cancel a new-commerce source subscription inside its cancellation window.
    CANCEL = "cancel"
    #: Turn auto-renew off on a new-commerce source subscription so its term simply ends.
    DISABLE_AUTO_RENEW = "disable-auto-renew"
    #: Gate: ask Microsoft support to move an Azure subscription (company names in the gate).
    AZURE_HANDOFF = "azure-handoff"
    #: Gate: Microsoft is moving an Azure subscription; verify source suspended, target active.
    AZURE_VERIFY = "azure-verify"
    #: Nothing is done because a ``protect`` flag holds the source subscription.
    HOLD = "hold"
    #: Nothing to do: the pair is as the manifests want it.
    NOOP = "no-op"

    @property
    def facts(self) -> Facts:
        """Everything the planner, the renderers and apply know about this action."""
        return FACTS[self]

    @property
    def is_gate(self) -> bool:
        """True when the work waits on someone else (a customer, Microsoft, the source)."""
        return FACTS[self].kind is Kind.GATE

    @property
    def writes(self) -> bool:
        """True when apply performs a write for this action."""
        return FACTS[self].kind is Kind.WRITE

    @property
    def symbol(self) -> str:
        """One-character symbol used by the renderers."""
        return FACTS[self].symbol


class Strategy(enum.StrEnum):
    """What becomes of a source subscription (``Change.strategy``)."""

    SUSPEND = "suspend"
    CANCEL = "cancel"
    EXPIRE = "expire"
    TRANSFER = "transfer"
    KEEP = "keep"
    #: A ``protect`` flag holds the source as it is; ``strategy.resolve`` never picks it.
    HOLD = "hold"


class Route(enum.StrEnum):
    """How a source subscription moves to the target (``PairStrategy.route``): the strategy of
    its pair, chosen and explained by ``planning.strategy``."""

    #: Partner-to-partner transfer: billing moves, nothing is bought for the pair.
    TRANSFER = "transfer"
    #: Buy in the target (the same new-commerce offer, or a legacy offer's new-commerce
    #: successor), then stop the source once the target is active with the seats.
    REPROVISION = "re-provision"
    #: Microsoft support moves it (legacy Azure; an Azure plan that cannot transfer).
    SUPPORT = "support-handoff"
    #: The manifest keeps the source as it is (``becomes: kept``).
    KEEP = "keep"
    #: Nothing can move it: not a license subscription, or nothing left to move.
    NONE = "none"


#: Strategies whose source stops (or, held, may later stop) serving users, so rule 1 wants the
#: target to cover its seats (``planning.sources.seats_to_cover``).
STOPS_SERVING = frozenset({Strategy.SUSPEND, Strategy.CANCEL, Strategy.EXPIRE, Strategy.HOLD})


class Kind(enum.Enum):
    #: Work that waits on someone else; apply never performs it.
    GATE = "gate"
    #: Apply performs a write (``applying.executor.HANDLERS`` has its handler).
    WRITE = "write"
    #: Said for the record only (held, unchanged).
    NOTE = "note"


class Tone(enum.Enum):
    """How a renderer marks the action (the terminal picks a colour per tone)."""

    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"
    WAIT = "wait"
    HOLD = "hold"
    SAME = "same"


@dataclass(frozen=True, slots=True)
class Cap:
    """A blast-radius cap of the policy on how many of an action one apply performs."""

    #: The setting as the consolidation manifest spells it.
    setting: str
    #: What it counts, in the refusal sentence ("3 suspensions (the policy allows 2 ...)").
    noun: str
    #: Its value in a policy.
    limit: Callable[[model.Policy], int]


@dataclass(frozen=True, slots=True)
class Facts:
    """The facts about one action."""

    #: One character the renderers print before the change.
    symbol: str
    kind: Kind
    #: Rank within a customer when dependencies leave a choice (``planning.ordering``): gates
    #: and target work first, source work after, no-ops last.
    rank: int
    tone: Tone
    #: How the summary line counts it: for several, and for exactly one.
    many: str
    one: str
    #: The source strategy the action carries out, when it stops or moves a source
    #: subscription. Apply then re-checks that the manifests still pair and do not protect the
    #: source, and, for one that stops serving users, rule 1 (``applying.checks``).
    strategy: Strategy | None = None
    #: The policy cap on how many of it one apply performs (planning defers the rest, apply
    #: refuses a plan beyond it).
    cap: Cap | None = None
    #: Writes on a source subscription without being its strategy (accepting a transfer):
    #: apply re-checks the protect flags and the pairing as for a strategy.
    source_write: bool = False

    @property
    def touches_source(self) -> bool:
        """True when the action stops or moves a source subscription."""
        return self.strategy is not None or self.source_write

    @property
    def rule_one(self) -> bool:
        """True when the target must be active with every replaced seat before the write."""
        return self.strategy in STOPS_SERVING


#: The facts of every action. A test fails for any ``Action`` missing here.
FACTS: Mapping[Action, Facts] = MappingProxyType(
    {
        Action.INVITE: Facts(
            symbol="?",
            kind=Kind.GATE,
            rank=0,
            tone=Tone.WAIT,
            many="invitations pending",
            one="invitation pending",
        ),
        Action.CONFIRM_AGREEMENT: Facts(
            symbol="?",
            kind=Kind.GATE,
            rank=0,
            tone=Tone.WAIT,
            many="agreements to confirm",
            one="agreement to confirm",
        ),
        Action.RECORD_AGREEMENT: Facts(
            symbol="*",
            kind=Kind.WRITE,
            rank=0,
            tone=Tone.ADD,
            many="agreements to record",
            one="agreement to record",
        ),
        Action.CREATE: Facts(
            symbol="+",
            kind=Kind.WRITE,
            rank=1,
            tone=Tone.ADD,
            many="to create",
            one="to create",
        ),
        Action.RESIZE: Facts(
            symbol="~",
            kind=Kind.WRITE,
            rank=2,
            tone=Tone.CHANGE,
            many="to resize",
            one="to resize",
        ),
        Action.REACTIVATE: Facts(
            symbol="^",
            kind=Kind.WRITE,
            rank=1,
            tone=Tone.CHANGE,
            many="to reactivate",
            one="to reactivate",
        ),
        Action.TRANSFER: Facts(
            symbol=">",
            kind=Kind.WRITE,
            rank=1,
            tone=Tone.ADD,
            many="to transfer",
            one="to transfer",
            strategy=Strategy.TRANSFER,
        ),
        Action.ACCEPT_TRANSFER: Facts(
            symbol="?",
            kind=Kind.GATE,
            rank=2,
            tone=Tone.WAIT,
            many="transfers awaiting acceptance",
            one="transfer awaiting acceptance",
        ),
        Action.ACCEPT: Facts(
            symbol="<",
            kind=Kind.WRITE,
            rank=2,
            tone=Tone.CHANGE,
            many="transfers to accept",
            one="transfer to accept",
            source_write=True,
        ),
        Action.AWAIT_ACTIVATION: Facts(
            symbol="?",
            kind=Kind.GATE,
            rank=1,
            tone=Tone.WAIT,
            many="awaiting activation",
            one="awaiting activation",
        ),
        Action.SUSPEND: Facts(
            symbol="-",
            kind=Kind.WRITE,
            rank=5,
            tone=Tone.REMOVE,
            many="to suspend",
            one="to suspend",
            strategy=Strategy.SUSPEND,
            cap=Cap("maxSuspensionsPerApply", "suspensions", lambda p: p.max_suspensions_per_apply),
        ),
        Action.CANCEL: Facts(
            symbol="x",
            kind=Kind.WRITE,
            rank=5,
            tone=Tone.REMOVE,
            many="to cancel",
            one="to cancel",
            strategy=Strategy.CANCEL,
            cap=Cap(
                "maxCancellationsPerApply", "cancellations", lambda p: p.max_cancellations_per_apply
            ),
        ),
        Action.DISABLE_AUTO_RENEW: Facts(
            symbol="/",
            kind=Kind.WRITE,
            rank=5,
            tone=Tone.CHANGE,
            many="auto-renew off",
            one="auto-renew off",
            strategy=Strategy.EXPIRE,
        ),
        Action.AZURE_HANDOFF: Facts(
            symbol="?",
            kind=Kind.GATE,
            rank=3,
            tone=Tone.WAIT,
            many="Azure hand-offs to request",
            one="Azure hand-off to request",
        ),
        Action.AZURE_VERIFY: Facts(
            symbol="?",
            kind=Kind.GATE,
            rank=4,
            tone=Tone.WAIT,
            many="Azure moves to verify",
            one="Azure move to verify",
        ),
        Action.HOLD: Facts(
            symbol="!",
            kind=Kind.NOTE,
            rank=6,
            tone=Tone.HOLD,
            many="held (protected)",
            one="held (protected)",
        ),
        Action.NOOP: Facts(
            symbol="=",
            kind=Kind.NOTE,
            rank=7,
            tone=Tone.SAME,
            many="unchanged",
            one="unchanged",
        ),
    }
)


class Reason(enum.StrEnum):
    """Why a change is planned. Explanation only: never read it to decide anything."""

    INVITATION_PENDING = "invitation-pending"
    #: The customer's acceptance of the Microsoft Customer Agreement is not confirmed.
    AGREEMENT_NOT_ACCEPTED = "agreement-not-accepted"
    #: Whether the customer accepted the Microsoft Customer Agreement could not be read.
    AGREEMENT_UNKNOWN = "agreement-unknown"
    #: The target has no confirmed acceptance and the manifest records one: apply records it.
    AGREEMENT_IN_MANIFEST = "agreement-in-manifest"
    NOT_IN_TARGET = "not-in-target"
    ARRIVES_BY_TRANSFER = "arrives-by-transfer"
    #: A transfer is requested again: the previous request expired, was cancelled or failed.
    PREVIOUS_TRANSFER_ENDED = "previous-transfer-ended"
    QUANTITY_DIFFERS = "quantity-differs"
    TARGET_SUSPENDED = "target-suspended"
    TARGET_PROVISIONING = "target-provisioning"
    #: A source subscription whose replacement is (or will be) active with enough seats.
    REPLACED = "replaced"
    TRANSFER_PENDING_ACCEPTANCE = "transfer-pending-acceptance"
    AZURE_NOT_MOVED = "azure-not-moved"
    AZURE_MOVE_IN_PROGRESS = "azure-move-in-progress"
    AZURE_MOVED = "azure-moved"
    PROTECTED = "protected"
    KEPT_BY_MANIFEST = "kept-by-manifest"
    SOURCE_GONE = "source-gone"
    ALREADY_DONE = "already-done"
    IN_SYNC = "in-sync"
