"""The language every layer shares: desired state (from manifests) and live state (from
Partner Center), as frozen dataclasses and enums.

Rules of this module:

- It does no I/O and imports nothing from the project but ``errors``; no third-party imports.
- Values are immutable (frozen dataclasses, tuples, ``MappingProxyType``); never mutate them.
- Identifiers that Partner Center compares case-insensitively (tenant ids, subscription ids)
  are stored lower-cased; offer ids are stored upper-cased (their canonical spelling).
- ``LiveState`` never confuses "could not read" with "not there": a customer whose reads
  failed is a ``CustomerView`` with ``status=ReadStatus.UNKNOWN`` and a reason, never an empty
  subscription list.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

GUID_RE = re.compile(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$", re.IGNORECASE)
#: New-commerce catalog item id: product:sku:availability, e.g. CFQ7TTC0LH18:0001:CFQ7TTC0K971,
#: or product:sku alone (the availability is looked up before each purchase).
NCE_OFFER_RE = re.compile(r"^[A-Z0-9]{12}:[0-9A-Z]{4}(:[A-Z0-9]{12})?$")
#: Legacy Azure offers, e.g. MS-AZR-0145P.
LEGACY_AZURE_RE = re.compile(r"^MS-AZR-[0-9A-Z]{4,5}$")
#: The Azure plan product id; its catalog ids are DZH318Z0BPS6:0001:<availability>.
AZURE_PLAN_PRODUCT = "DZH318Z0BPS6"


def _frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(items or {}))


# --------------------------------------------------------------------------------------------
# Commerce models and offers


class CommerceModel(enum.StrEnum):
    """How Partner Center sells and bills a subscription; decides what suspension means."""

    #: Pre-NCE license subscription (GUID offer id). Suspension stops billing.
    LEGACY_LICENSE = "legacy_license"
    #: New-commerce license subscription (product:sku:availability). Suspension keeps billing;
    #: cancellation and seat reduction only inside the 7-day window.
    NCE_LICENSE = "nce_license"
    #: Legacy Azure usage (MS-AZR-*). Moved by Microsoft support, never by us.
    LEGACY_AZURE = "legacy_azure"
    #: Azure plan (DZH318Z0BPS6:...). Moved by partner-to-partner transfer when eligible, else
    #: by Microsoft support; never suspended or cancelled by us.
    AZURE_PLAN = "azure_plan"
    #: Anything we cannot classify; treated as untouchable.
    UNKNOWN = "unknown"

    @property
    def is_azure(self) -> bool:
        return self in (CommerceModel.LEGACY_AZURE, CommerceModel.AZURE_PLAN)

    @property
    def is_license(self) -> bool:
        return self in (CommerceModel.LEGACY_LICENSE, CommerceModel.NCE_LICENSE)


def classify_offer(offer_id: str, *, billing_type: str | None = None) -> CommerceModel:
    """Commerce model of an offer id (and, when known, the subscription's ``billingType``).

    Documented shapes (partner-center-api.md §3.4, §3.9): legacy license offers are GUIDs,
    legacy Azure is ``MS-AZR-*``, new-commerce items are ``product:sku:availability`` and the
    Azure plan is product ``DZH318Z0BPS6``.
    """
    oid = offer_id.strip().upper()
    if LEGACY_AZURE_RE.match(oid):
        return CommerceModel.LEGACY_AZURE
    if oid.startswith(AZURE_PLAN_PRODUCT + ":") or oid == AZURE_PLAN_PRODUCT:
        return CommerceModel.AZURE_PLAN
    if NCE_OFFER_RE.match(oid):
        if (billing_type or "").lower() == "usage":
            return CommerceModel.UNKNOWN
        return CommerceModel.NCE_LICENSE
    if GUID_RE.match(oid):
        if (billing_type or "").lower() == "usage":
            return CommerceModel.UNKNOWN
        return CommerceModel.LEGACY_LICENSE
    return CommerceModel.UNKNOWN


# --------------------------------------------------------------------------------------------
# Desired state (built from manifests by reconciler.manifests)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a desired object was declared, for messages: ``manifests/customers/x.yaml:12``."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Role(enum.StrEnum):
    TARGET = "target"
    SOURCE = "source"


@dataclass(frozen=True, slots=True)
class Tenant:
    """A partner tenant of the consolidation. ``name`` is the short handle used everywhere
    (manifests, credentials variables, plan addresses)."""

    name: str
    tenant_id: str
    country: str
    role: Role
    display_name: str = ""


class SourceStrategy(enum.StrEnum):
    """What becomes of a source subscription once its replacement is active in the target."""

    #: Let the planner choose from the commerce model and policy (legacy: suspend; NCE: the
    #: policy's ``nceSourceStrategy``), and say why in the plan.
    AUTO = "auto"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"
    KEPT = "kept"


class NceStrategy(enum.StrEnum):
    """Policy default for new-commerce source subscriptions (suspension does not stop billing)."""

    #: Partner-to-partner transfer: billing moves, no overlap. Needs the source's acceptance.
    TRANSFER = "transfer"
    #: Cancel when still inside the cancellation window, else turn auto-renew off.
    CANCEL_OR_EXPIRE = "cancel-or-expire"
    #: Suspend anyway (billing continues to term end; the plan shows the overlap).
    SUSPEND = "suspend"
    #: Turn auto-renew off and let the term end (double billing until then).
    EXPIRE = "expire"


class MoveBy(enum.StrEnum):
    """Policy ``moveBy``: how a source subscription moves when its pair says ``becomes: auto``."""

    #: Partner-to-partner transfer wherever it is eligible (Microsoft's current tutorial);
    #: what a transfer cannot move is re-provisioned (``nceSourceStrategy`` for new commerce,
    #: the new-commerce successor plus same-day suspension for legacy licenses).
    TRANSFER_FIRST = "transfer-first"
    #: The 2020 procedure: buy in the target, then stop the source (``nceSourceStrategy``).
    REPROVISION = "re-provision"


class TransferAcceptance(enum.StrEnum):
    """Who accepts a partner-to-partner transfer request on the source side."""

    #: ``apply`` accepts it with the source tenant's credentials (the partner holds both).
    APPLY = "apply"
    #: A person accepts it in Partner Center; the plan keeps it as a gate.
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Policy:
    """Knobs from the consolidation manifest that plan and apply read."""

    max_suspensions_per_apply: int = 25
    max_cancellations_per_apply: int = 10
    max_customers_per_apply: int = 50
    billing_overlap_tolerance_days: int = 1
    nce_strategy: NceStrategy = NceStrategy.CANCEL_OR_EXPIRE
    activation_timeout_minutes: int = 30
    move_by: MoveBy = MoveBy.TRANSFER_FIRST
    #: Where the manifest set ``nceSourceStrategy`` (other than ``transfer``) without
    #: ``moveBy``: before ``moveBy`` existed that re-provisioned every new-commerce pair; the
    #: plan warns that transfer-first now comes first ("" when not the case).
    nce_strategy_without_move_by: str = ""
    #: Deadlines (cancellation windows, term ends, transfer expiry) closing within this many
    #: days are warnings at the top of the plan.
    deadline_warning_days: int = 7
    #: Who accepts transfer requests on the source side (``transferAcceptance``).
    transfer_acceptance: TransferAcceptance = TransferAcceptance.APPLY

    @property
    def prefers_transfer(self) -> bool:
        """True when ``becomes: auto`` pairs move by transfer where eligible."""
        return self.move_by is MoveBy.TRANSFER_FIRST or self.nce_strategy is NceStrategy.TRANSFER


@dataclass(frozen=True, slots=True)
class Offer:
    """A named offer from the offers catalog manifest (``kind: Offers``)."""

    alias: str
    offer_id: str
    name: str
    commerce: CommerceModel
    #: Offer ids (usually legacy GUIDs) this offer succeeds: a source subscription on one of
    #: them is expected to be replaced by this offer in the target.
    replaces: tuple[str, ...] = ()
    billing_cycle: str | None = None
    term_duration: str | None = None


@dataclass(frozen=True, slots=True)
class Consolidation:
    name: str
    target: Tenant
    sources: tuple[Tenant, ...]
    policy: Policy
    origin: Origin
    offers: Mapping[str, Offer] = field(default_factory=_frozen_map)

    def source(self, name: str) -> Tenant | None:
        # A loop, not next() over a generator: written for speed (read per subscription).
        for t in self.sources:
            if t.name == name:
                return t
        return None

    @property
    def tenants(self) -> tuple[Tenant, ...]:
        return (self.target, *self.sources)


@dataclass(frozen=True, slots=True)
class Replacement:
    """A source subscription replaced by a desired target subscription, and its fate."""

    subscription_id: str
    becomes: SourceStrategy
    origin: Origin
    #: The source tenant (``Tenant.name``) holding the subscription; ``None`` means the
    #: customer's own ``source`` (``DesiredCustomer.source_of`` resolves it).
    source: str | None = None


@dataclass(frozen=True, slots=True)
class DesiredSubscription:
    """A license subscription wanted in the target tenant."""

    key: str
    offer_id: str
    commerce: CommerceModel
    quantity: int
    billing_cycle: str
    term_duration: str | None
    friendly_name: str | None
    replaces: tuple[Replacement, ...]
    protect: bool
    origin: Origin
    offer_alias: str | None = None
    #: An existing target subscription explicitly adopted for this entry (strongest match).
    target_subscription_id: str | None = None
    #: False (manifest ``adopt: never``): never adopt a subscription by offer or product;
    #: buy anew even when the customer already holds the product in the target.
    adopt_existing: bool = True


@dataclass(frozen=True, slots=True)
class AzureHandoff:
    """An Azure usage subscription to move to the target: by partner-to-partner transfer (an
    Azure plan, when eligible) or by Microsoft support (planning.azure decides)."""

    key: str
    source_subscription_id: str
    protect: bool
    origin: Origin
    #: The source tenant holding the Azure subscription; ``None``: the customer's ``source``.
    source: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerAgreement:
    """The customer's acceptance of the Microsoft Customer Agreement as the partner holds it
    (the manifest's ``customerAgreement``): who at the customer accepted it and when. Apply
    records it in the target (``POST .../agreements``, App+User) when the target has none."""

    first_name: str
    last_name: str
    email: str
    #: Optional in Microsoft's ``Contact``; ``""`` when the manifest gives none.
    phone_number: str
    #: The day the customer accepted, ``YYYY-MM-DD`` (a calendar date; sent as UTC midnight).
    date_agreed: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class DesiredCustomer:
    """One customer. ``source`` is its default source tenant; a customer held in several
    source tenants names the others on the replaced subscriptions and hand-offs there."""

    tenant_id: str
    name: str
    domain: str
    source: str
    protect: bool
    subscriptions: tuple[DesiredSubscription, ...]
    azure: tuple[AzureHandoff, ...]
    origin: Origin
    #: The customer's acceptance of the Microsoft Customer Agreement, when the manifest
    #: records it (``customerAgreement``); ``None`` otherwise.
    agreement: CustomerAgreement | None = None

    def source_of(self, item: Replacement | AzureHandoff) -> str:
        """The source tenant holding ``item``'s subscription."""
        return item.source or self.source

    @property
    def sources(self) -> tuple[str, ...]:
        """Every source tenant the customer is read in: its default ``source`` first, then
        the others its replaced subscriptions and hand-offs name, sorted."""
        # Plain loops over the fields ``source_of`` reads: written for speed, as planning reads
        # this a few times per customer.
        named: set[str] = set()
        for ds in self.subscriptions:
            for r in ds.replaces:
                if r.source:
                    named.add(r.source)
        for h in self.azure:
            if h.source:
                named.add(h.source)
        named.discard(self.source)
        return (self.source, *sorted(named)) if named else (self.source,)


@dataclass(frozen=True, slots=True)
class DesiredState:
    consolidation: Consolidation
    customers: tuple[DesiredCustomer, ...]
    #: sha256 over the canonical content of every manifest file read.
    digest: str = ""

    def customer(self, tenant_id: str) -> DesiredCustomer | None:
        tid = tenant_id.lower()
        return next((c for c in self.customers if c.tenant_id == tid), None)


# --------------------------------------------------------------------------------------------
# Live state (built from Partner Center by reconciler.partner_center.reading)


class SubscriptionStatus(enum.StrEnum):
    NONE = "none"
    ACTIVE = "active"
    PENDING = "pending"
    SUSPENDED = "suspended"
    DELETED = "deleted"
    EXPIRED = "expired"
    DISABLED = "disabled"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: str | None) -> SubscriptionStatus:
        try:
            return cls((value or "unknown").strip().lower())
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True, slots=True)
class RefundableBatch:
    quantity: int
    allowed_until: datetime


@dataclass(frozen=True, slots=True)
class LiveSubscription:
    """One subscription as Partner Center reports it, normalised."""

    id: str
    offer_id: str
    offer_name: str
    friendly_name: str
    quantity: int
    status: SubscriptionStatus
    commerce: CommerceModel
    billing_cycle: str
    term_duration: str | None
    auto_renew: bool
    creation_date: datetime | None
    commitment_end_date: datetime | None
    cancellation_allowed_until: datetime | None
    refundable: tuple[RefundableBatch, ...]
    order_id: str | None
    etag: str | None
    entitlement_id: str | None = None
    parent_subscription_id: str | None = None
    #: Partner Center's ``productType`` as ``id`` or ``id/subType`` (``Azure/Reservation``,
    #: ``SaaS``), when the payload carries one; transfers refuse some (planning.eligibility).
    product_type: str | None = None


class ReadStatus(enum.StrEnum):
    """What we know about a customer in one partner tenant."""

    #: Read completely; ``subscriptions`` is the whole truth.
    OK = "ok"
    #: The partner has no relationship with this customer (403 20002 / not in the list):
    #: a *fact*, e.g. the invitation is not accepted yet.
    NO_RELATIONSHIP = "no_relationship"
    #: Reads failed; nothing may be concluded (``reason`` says why). Never treated as empty.
    UNKNOWN = "unknown"


class TransferStatus(enum.StrEnum):
    """A partner-to-partner transfer request's state, normalised from Partner Center's free
    strings (``InProgress``, ``Active``, ``Complete``, ``Reject``, ``Canceled``, ``Expired``,
    ...)."""

    #: Created, waiting for the source partner (or accepted and still being carried out).
    PENDING = "pending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    #: The source partner declined the request (``Reject``).
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"
    #: A value we do not know; treated as possibly still open until the request's expiry.
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: str | None) -> TransferStatus:
        text = re.sub(r"[\s_-]", "", (value or "").lower())
        return _TRANSFER_STATUS.get(text, cls.UNKNOWN)

    @property
    def ended(self) -> bool:
        """True when the request can no longer complete (a new one may be made)."""
        return self in (
            TransferStatus.CANCELLED,
            TransferStatus.REJECTED,
            TransferStatus.EXPIRED,
            TransferStatus.FAILED,
        )


_TRANSFER_WORDS = {
    TransferStatus.PENDING: ("pending", "inprogress", "active", "accepted", "submitted"),
    TransferStatus.COMPLETED: ("complete", "completed"),
    TransferStatus.CANCELLED: ("cancel", "canceled", "cancelled"),
    TransferStatus.REJECTED: ("reject", "rejected", "declined"),
    TransferStatus.EXPIRED: ("expired", "expire"),
    TransferStatus.FAILED: ("failed", "failure", "error"),
}
_TRANSFER_STATUS = {word: st for st, words in _TRANSFER_WORDS.items() for word in words}


@dataclass(frozen=True, slots=True)
class LiveTransferLine:
    """One subscription a transfer moves (present once the source partner accepted)."""

    source_subscription_id: str
    #: The subscription created under the target, once the line completed: given by the line
    #: itself (rare) or found through ``order_id`` by the reader.
    target_subscription_id: str | None = None
    status: str = ""
    #: The target's order that a completed line created (Microsoft documents this, not a
    #: target subscription id: ``GET .../subscriptions?order_id=`` finds the subscription).
    order_id: str | None = None
    offer_id: str = ""
    quantity: int | None = None


@dataclass(frozen=True, slots=True)
class LiveTransfer:
    """A partner-to-partner transfer request of one customer, as the target reads it.

    A request names the source partner, not subscriptions: the source partner picks the
    subscriptions when it accepts, so ``lines`` is empty until then and a pending request
    without lines may carry any of the source's subscriptions.
    """

    id: str
    status: TransferStatus
    source_partner_id: str
    target_partner_id: str
    created_at: datetime | None
    #: When an unanswered request lapses (Partner Center: 30 days after creation).
    expires_at: datetime | None
    lines: tuple[LiveTransferLine, ...] = ()
    completed_at: datetime | None = None

    def is_open(self, now: datetime) -> bool:
        """True while the request may still complete: pending, or of an unknown status and
        not yet past its expiry (an unknown status is never read as "over")."""
        if self.status is TransferStatus.PENDING:
            return True
        if self.status is TransferStatus.UNKNOWN:
            return self.expires_at is None or now < self.expires_at
        return False

    def names(self, subscription_id: str) -> bool:
        """True when a line item of this request is ``subscription_id``."""
        sid = subscription_id.lower()
        return any(line.source_subscription_id == sid for line in self.lines)

    def may_carry(self, subscription_id: str) -> bool:
        """True when this request moves (or, not yet accepted, may move) the subscription."""
        return not self.lines or self.names(subscription_id)


@dataclass(frozen=True, slots=True)
class CustomerView:
    """One customer as seen from one partner tenant."""

    tenant_id: str
    status: ReadStatus
    name: str = ""
    domain: str = ""
    relationship: str = ""
    subscriptions: tuple[LiveSubscription, ...] = ()
    reason: str = ""
    #: Transfer requests of the customer that this partner is party to (read on the target).
    #: ``None`` means not known: not read, or unreadable (``transfers_reason`` says why);
    #: never confuse it with ``()``, "read, and there are none".
    transfers: tuple[LiveTransfer, ...] | None = None
    transfers_reason: str = ""
    #: Whether the customer's acceptance of the Microsoft Customer Agreement is confirmed
    #: (read on the target for customers a plan may buy for). ``None``: not read, or
    #: unreadable (``agreement_reason`` then says why); never read it as either answer.
    agreement: bool | None = None
    agreement_reason: str = ""

    def subscription(self, subscription_id: str) -> LiveSubscription | None:
        sid = subscription_id.lower()
        return next((s for s in self.subscriptions if s.id == sid), None)


@dataclass(frozen=True, slots=True)
class TenantView:
    """Everything read from one partner tenant."""

    tenant: Tenant
    customers: Mapping[str, CustomerView] = field(default_factory=_frozen_map)

    def customer(self, tenant_id: str) -> CustomerView | None:
        return self.customers.get(tenant_id.lower())


@dataclass(frozen=True, slots=True)
class LiveState:
    """The typed picture of every partner tenant involved, at ``read_at``."""

    read_at: datetime
    tenants: Mapping[str, TenantView] = field(default_factory=_frozen_map)
    #: The target's reseller-relationship invitation URL, when it could be read (App+User).
    invitation_url: str | None = None

    def view(self, tenant_name: str) -> TenantView | None:
        return self.tenants.get(tenant_name)
