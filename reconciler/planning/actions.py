"""The plan's value types that every renderer and ``apply`` read: ``Change``, ``Plan`` and
what they carry. The actions, with every fact about each, the reasons and the source
strategies are declared in ``verbs.py`` and named here as ``actions.Action``, ``Reason`` and
``Strategy``.

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
the plan's verbs (``verbs.py``: every action with its facts, the reasons, the strategies).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from reconciler.planning import verbs

#: Bumped whenever a consumer of the JSON document would have to change.
FORMAT_VERSION = 2

#: JSON-friendly scalar used in ``before``/``after`` maps.
Scalar = str | int | bool | None


#: The plan's verbs live in ``verbs.py`` with their facts; these are the names used elsewhere.
Action = verbs.Action
Reason = verbs.Reason
Strategy = verbs.Strategy
Route = verbs.Route


_R = TypeVar("_R")


def fast_init(cls: type[_R]) -> type[_R]:
    """Give a frozen, slotted dataclass a faster ``__init__`` (put it above ``@dataclass``).

    Written for speed: the planner makes a record or two per subscription, and a frozen
    dataclass's own ``__init__`` sets each field through ``object.__setattr__`` (about 1.5 us for
    ``Change``'s 13 fields). This one calls each slot's ``__set__`` directly (about 0.7 us):
    the same parameters, defaults and field order, the same values stored. Everything else is
    the dataclass's own and unchanged: the class is still frozen (assignment raises
    ``FrozenInstanceError``), and eq, hash, repr, ``dataclasses.replace`` and ``fields`` are
    as before. A class it cannot copy faithfully (not frozen or not slotted, a
    ``default_factory``, an ``init=False`` or keyword-only field, a ``__post_init__``) is
    refused with ``TypeError`` when the module is imported.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"fast_init: {cls.__qualname__} is not a frozen, slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"fast_init: {cls.__qualname__} has a __post_init__")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    args: list[str] = []
    body: list[str] = []
    namespace: dict[str, Any] = {}
    for f in fields:
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"fast_init: {cls.__qualname__}.{f.name} cannot be copied")
        if f.default is dataclasses.MISSING:
            args.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
        body.append(f"        _set_{f.name}(self, {f.name})\n")
    setters = ", ".join(f"_set_{f.name}" for f in fields)
    source = (
        f"def _make({setters}):\n"
        f"    def __init__(self, {', '.join(args)}):\n{''.join(body)}"
        "    return __init__\n"
    )
    exec(source, namespace)  # noqa: S102 - built from the field names only, as dataclasses does
    init = namespace["_make"](*(cls.__dict__[f.name].__set__ for f in fields))
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses assigning to a method
    return cls


def fast_new(cls: type[_R]) -> Callable[..., _R]:
    """A positional constructor for a ``fast_init`` record, two to three times as fast as the class.

    Written for speed, for the records the planner makes once per change (``Change``,
    ``Address``, ``PairStrategy``): even ``fast_init``'s ``__init__`` stores each field through
    a descriptor call, because the frozen class's ``__setattr__`` refuses plain stores. This
    builds the object as an instance of a plain (unfrozen) twin class with the same slots, so
    each field is an ordinary attribute store, then makes it a ``cls`` (``__class__``
    assignment, which Python allows between classes of the same slot layout). The result is
    what ``cls(*args)`` makes: the same class and values, frozen, eq, hash and repr unchanged.
    Every field is a required positional parameter, in field order (no defaults, no keywords).
    """
    code = getattr(cls.__init__, "__code__", None)
    if code is None or code.co_qualname != "_make.<locals>.__init__" or cls.__bases__ != (object,):
        raise TypeError(f"fast_new: {cls.__qualname__} is not a fast_init class")
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    twin = type(f"_{cls.__name__}Twin", (), {"__slots__": cls.__dict__["__slots__"]})
    if {"_fast_new_obj", "_twin", "_cls"} & set(names):
        raise TypeError(f"fast_new: {cls.__qualname__} has a field named as a local of new()")
    stores = "".join(f"        _fast_new_obj.{n} = {n}\n" for n in names)
    source = (
        "def _make_new(_twin, _cls):\n"
        f"    def new({', '.join(names)}):\n"
        "        _fast_new_obj = _twin()\n"
        f"{stores}"
        "        _fast_new_obj.__class__ = _cls\n"
        "        return _fast_new_obj\n"
        "    return new\n"
    )
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102 - built from the field names only, as dataclasses does
    new: Callable[..., _R] = namespace["_make_new"](twin, cls)
    new.__qualname__ = f"{cls.__qualname__}.new"
    new.__module__ = cls.__module__
    return new


class PlanOutcome(enum.StrEnum):
    """What a plan means for the caller; the CLI maps it to the detailed exit code."""

    #: Some customer could not be planned.
    ERRORED = "errored"
    #: Something apply can do now.
    CHANGES = "changes"
    #: Only gates outstanding: the work waits on someone else.
    WAITING = "waiting"
    NO_CHANGES = "no-changes"


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


@fast_init
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


@fast_init
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


@fast_init
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


@fast_init
@dataclass(frozen=True, slots=True)
class Deadline:
    """A date that matters for a change: "cancellation-window", "term-end", "transfer-expiry"."""

    kind: str
    at: datetime
    note: str = ""


@fast_init
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
    #: For source subscriptions: the strategy picked.
    strategy: Strategy | None = None
    overlap: Overlap | None = None
    deadlines: tuple[Deadline, ...] = ()

    @property
    def applicable(self) -> bool:
        """True when apply may perform this change now (a write not blocked by a gate)."""
        return self.action.writes and not self.blocked_by


@fast_init
@dataclass(frozen=True, slots=True)
class Rejected:
    """A route the planner did not take for a pair, and why."""

    route: Route
    why: str


@fast_init
@dataclass(frozen=True, slots=True)
class PairStrategy:
    """How one source subscription of a customer moves to the target, why, and what was
    rejected (issue 12: "the plan names how it moves and why, with the alternatives it
    rejected"). One per replaced source subscription and per Azure hand-off of every planned
    customer, whether or not a change is planned for it now."""

    #: The source tenant holding the subscription.
    tenant: str
    customer_id: str
    customer_name: str
    subscription_id: str
    #: The manifest key of the desired subscription or Azure hand-off.
    key: str
    #: The source's commerce model as read (``model.CommerceModel`` values).
    commerce: str
    route: Route
    why: str
    #: What becomes of the source subscription itself (None: nothing, e.g. a transfer moves it).
    action: Strategy | None = None
    rejected: tuple[Rejected, ...] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem (error: nothing planned for that customer) or warning in the plan."""

    severity: Severity
    code: str
    message: str
    customer_id: str | None = None


@fast_init
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


@fast_init
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
    #: Every source tenant the customer was read in, ``source`` first, when it is held in
    #: several; ``()`` means ``source`` alone.
    sources: tuple[str, ...] = ()

    @property
    def source_tenants(self) -> tuple[str, ...]:
        """The source tenants the customer is read in (and its fingerprint covers)."""
        return self.sources or (self.source,)

    def tenants(self, target: str) -> tuple[str, ...]:
        """Every tenant the customer's fingerprint covers: its sources, then ``target``."""
        return (*self.source_tenants, target)


#: ``Change(...)``, ``Address(...)`` and ``PairStrategy(...)`` with every field given
#: positionally, made faster (``fast_new``): for the builder, once per change or pair.
new_change: Callable[
    [
        str,
        Action,
        Address,
        Reason,
        str,
        Mapping[str, Scalar] | None,
        Mapping[str, Scalar] | None,
        tuple[str, ...],
        tuple[str, ...],
        Gate | None,
        Strategy | None,
        Overlap | None,
        tuple[Deadline, ...],
    ],
    Change,
] = fast_new(Change)
new_address: Callable[[str, str, str, str | None, str | None], Address] = fast_new(Address)
new_pair_strategy: Callable[
    [str, str, str, str, str, str, Route, str, Strategy | None, tuple[Rejected, ...]],
    PairStrategy,
] = fast_new(PairStrategy)


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
    #: How every source subscription moves, and why (one per pair; in customer order).
    strategies: tuple[PairStrategy, ...] = ()
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
    def outcome(self) -> PlanOutcome:
        """What the plan means: errored, changes, waiting (only gates) or no changes."""
        if self.errored:
            return PlanOutcome.ERRORED
        if self.has_applicable_changes:
            return PlanOutcome.CHANGES
        if any(c.action.is_gate for c in self.changes):
            return PlanOutcome.WAITING
        return PlanOutcome.NO_CHANGES

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
