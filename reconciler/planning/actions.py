"""The plan's vocabulary: the closed set of actions, the reasons that explain them, and the
``Change`` and ``Plan`` value types that every renderer and ``apply`` read.

Contract for ``apply`` (docs/plan-format.md says the same):

- Branch on ``Change.action`` only. ``Change.reason`` and ``Change.detail`` explain the change to
  people; they never decide anything (Terraform's ActionReason rule).
- Execute ``Plan.changes`` in the given order, and only the changes that are
  ``Change.applicable``: an action that writes (``Action.writes``) and whose ``blocked_by`` is
  empty. Gates (``Action.is_gate``) are work waiting on someone else; apply never performs them.
- ``Change.depends_on`` lists change ids that must have succeeded first (for a create: the
  subscription must also be ``active``). ``Plan.deferred`` holds changes that a policy cap
  pushed to a later apply: never execute them.
- Re-check every safety rule against fresh live state right before each write; compare
  ``Plan.customers[*].fingerprint`` with ``planning.fingerprint`` to refuse a stale plan.

This module holds data only: no I/O, no decisions, no imports beyond the standard library and
the shared model.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

#: Bumped whenever a consumer of the JSON document would have to change.
FORMAT_VERSION = 1

#: JSON-friendly scalar used in ``before``/``after`` maps.
Scalar = str | int | bool | None


class Action(enum.StrEnum):
    """What a change does. A closed set: apply dispatches on these values and nothing else."""

    #: Gate: the customer's Global Admin must accept the target's reseller invitation.
    INVITE = "invite"
    #: Order a target subscription (new-commerce ids through a cart, legacy offers through an
    #: order). The friendly name carries ``marker(key)``. Done when the subscription is active.
    CREATE = "create"
    #: Set a target subscription's license count to ``after["quantity"]``.
    RESIZE = "resize"
    #: Set a suspended target subscription back to active.
    REACTIVATE = "reactivate"
    #: Request a partner-to-partner transfer of a source subscription (created by the target).
    TRANSFER = "transfer"
    #: Gate: the source partner must accept the transfer request.
    ACCEPT_TRANSFER = "accept-transfer"
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
    def is_gate(self) -> bool:
        """True when the work waits on someone else (a customer, Microsoft, the source)."""
        return self in _GATES

    @property
    def writes(self) -> bool:
        """True when apply performs a write for this action."""
        return self in _WRITES

    @property
    def symbol(self) -> str:
        """One-character symbol used by the renderers."""
        return _SYMBOLS[self]


_GATES = frozenset(
    {
        Action.INVITE,
        Action.ACCEPT_TRANSFER,
        Action.AWAIT_ACTIVATION,
        Action.AZURE_HANDOFF,
        Action.AZURE_VERIFY,
    }
)
_WRITES = frozenset(
    {
        Action.CREATE,
        Action.RESIZE,
        Action.REACTIVATE,
        Action.TRANSFER,
        Action.SUSPEND,
        Action.CANCEL,
        Action.DISABLE_AUTO_RENEW,
    }
)
_SYMBOLS = {
    Action.INVITE: "?",
    Action.CREATE: "+",
    Action.RESIZE: "~",
    Action.REACTIVATE: "^",
    Action.TRANSFER: ">",
    Action.ACCEPT_TRANSFER: "?",
    Action.AWAIT_ACTIVATION: "?",
    Action.SUSPEND: "-",
    Action.CANCEL: "x",
    Action.DISABLE_AUTO_RENEW: "/",
    Action.AZURE_HANDOFF: "?",
    Action.AZURE_VERIFY: "?",
    Action.HOLD: "!",
    Action.NOOP: "=",
}


class Reason(enum.StrEnum):
    """Why a change is planned. Explanation only: never read it to decide anything."""

    INVITATION_PENDING = "invitation-pending"
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


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


class CustomerStatus(enum.StrEnum):
    """How far planning got for one customer."""

    #: Both tenants read; changes planned.
    PLANNED = "planned"
    #: The target's invitation is not accepted yet; target-side work waits behind it.
    INVITATION_PENDING = "invitation-pending"
    #: State unknown in some tenant, or a plan error (ambiguous match): no change planned.
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Address:
    """Where a change applies: ``<tenant>/<customer tenant id>/<subscription id or key>``.

    ``tenant`` is the partner tenant's short name from the consolidation manifest.
    ``subscription_id`` is the live id when one exists (None for a create); ``key`` is the
    manifest key of the desired subscription or Azure hand-off, when the change has one.
    """

    tenant: str
    customer_id: str
    customer_name: str
    subscription_id: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        leaf = self.subscription_id or (f"[{self.key}]" if self.key else "")
        return f"{self.tenant}/{self.customer_id}" + (f"/{leaf}" if leaf else "")


@dataclass(frozen=True, slots=True)
class Gate:
    """Work that waits on someone else, with what they need to do it."""

    #: Who must act: "customer", "microsoft-support", "source-partner", "partner-center".
    waiting_on: str
    #: One sentence: what has to happen.
    what: str
    #: The reseller invitation URL (INVITE), when it could be read.
    url: str | None = None
    #: A ready-to-send message (INVITE: to the customer's admin; AZURE_HANDOFF: to support).
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Overlap:
    """Days on which both the source and the target bill for the same seats.

    ``days`` counts calendar days from ``target_bills_from`` to ``source_bills_until``
    (0 = same day, the procedure's goal); None when open-ended (kept, held).
    """

    days: int | None
    target_bills_from: datetime | None
    source_bills_until: datetime | None
    note: str


@dataclass(frozen=True, slots=True)
class Deadline:
    """A date that matters for a change: "cancellation-window", "term-end", "transfer-expiry"."""

    kind: str
    at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class Change:
    """One planned step. ``id`` is stable across re-plans of the same situation."""

    id: str
    action: Action
    address: Address
    reason: Reason
    #: One or two sentences for people: what and why, including the strategy picked.
    detail: str
    before: Mapping[str, Scalar] | None = None
    after: Mapping[str, Scalar] | None = None
    depends_on: tuple[str, ...] = ()
    #: Ids of gates (direct or transitive dependencies) that must clear first.
    blocked_by: tuple[str, ...] = ()
    gate: Gate | None = None
    #: For source subscriptions: the strategy picked ("suspend", "cancel", "expire",
    #: "transfer", "keep", "hold").
    strategy: str | None = None
    overlap: Overlap | None = None
    deadlines: tuple[Deadline, ...] = ()

    @property
    def applicable(self) -> bool:
        """True when apply may perform this change now (a write not blocked by a gate)."""
        return self.action.writes and not self.blocked_by


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem (error: nothing planned for that customer) or warning in the plan."""

    severity: Severity
    code: str
    message: str
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class Unmanaged:
    """A target subscription of a managed customer that the manifests don't name: left alone."""

    tenant: str
    customer_id: str
    customer_name: str
    subscription_id: str
    offer_id: str
    friendly_name: str
    quantity: int
    status: str


@dataclass(frozen=True, slots=True)
class CustomerEntry:
    """One customer of the plan, with the fingerprint of the live state it was planned on."""

    tenant_id: str
    name: str
    source: str
    status: CustomerStatus
    #: ``sha256:<hex>`` of the decision-relevant live fields (planning.fingerprint).
    fingerprint: str
    #: Those fields as JSON-ready values per tenant (planning.staleness), so a stale plan's
    #: refusal names what moved; ``None`` in plans written before snapshots existed.
    snapshot: Mapping[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True, slots=True)
class Plan:
    """The plan document; renderers and apply read nothing else."""

    tool_version: str
    created_at: datetime
    consolidation: str
    target: str
    inputs_digest: str
    live_read_at: datetime
    customers: tuple[CustomerEntry, ...]
    changes: tuple[Change, ...]
    deferred: tuple[Change, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    #: Company names ready for Microsoft support's Azure hand-off (relationship accepted).
    azure_ready: tuple[str, ...] = ()
    format_version: int = FORMAT_VERSION
    #: Filters the plan was made with (customers included/excluded, source), for the record.
    scope: Mapping[str, Scalar | tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @property
    def errored(self) -> bool:
        """True when some customer could not be planned (diagnostic of severity error)."""
        return any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def has_applicable_changes(self) -> bool:
        return any(c.applicable for c in self.changes)

    @property
    def gates(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action.is_gate)

    @property
    def outcome(self) -> str:
        """ "errored", "changes" (something apply can do now), "waiting" (only gates
        outstanding) or "no-changes"; the CLI maps it to the detailed exit code."""
        if self.errored:
            return "errored"
        if self.has_applicable_changes:
            return "changes"
        if any(c.action.is_gate for c in self.changes):
            return "waiting"
        return "no-changes"

    def counts(self) -> dict[str, int]:
        """Number of changes per action value (only actions that occur), in enum order."""
        found: dict[str, int] = {}
        for action in Action:
            n = sum(1 for c in self.changes if c.action is action)
            if n:
                found[action.value] = n
        return found

    def customer(self, tenant_id: str) -> CustomerEntry | None:
        return next((c for c in self.customers if c.tenant_id == tenant_id), None)
