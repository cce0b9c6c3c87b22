"""The per-customer scratchpad the planner fills: changes with stable ids, diagnostics, and
the customer's context (views, clock, policy). Shared by the target-, source- and Azure-side
planning modules so each stays small. Pure: collects values, performs nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler import model
from reconciler.planning import actions, products

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Each status's and commerce model's value, shared and looked up once per subscription
#: (``Enum.value`` is a descriptor call; ``str()`` of a member builds a new string).
STATUS = {s: s.value for s in model.SubscriptionStatus}
COMMERCE = {c: c.value for c in model.CommerceModel}


def change_id(action: actions.Action, address: actions.Address) -> str:
    """Stable id: the same action on the same address gets the same id in every plan."""
    a = address
    # _VALUE[action] is ``action.value``: formatting the enum member itself is slower.
    raw = f"{_VALUE[action]}|{a.tenant}|{a.customer_id}|{a.subscription_id or ''}|{a.key or ''}"
    return "c" + _sha256(raw.encode()).hexdigest()[:15]


_VALUE = {a: a.value for a in actions.Action}
_sha256 = hashlib.sha256
_new_change = actions.new_change
_new_address = actions.new_address
_new_pair_strategy = actions.new_pair_strategy


#: The actions that are gates (``Action.is_gate``), looked up once per change.
_GATES = frozenset(a for a in actions.Action if a.is_gate)


@actions.fast_init
@dataclass(frozen=True, slots=True)
class Outlook:
    """What the target subscription of a desired entry will be once earlier steps are done."""

    usable: bool
    quantity: int
    #: Change ids after which the target is active with ``quantity`` seats.
    deps: tuple[str, ...]
    billing_from: datetime | None
    why_not: str = ""


@dataclass
class Builder:
    customer: model.DesiredCustomer
    consolidation: model.Consolidation
    now: datetime
    source: model.CustomerView
    target_subscriptions: tuple[model.LiveSubscription, ...]
    invitation_url: str | None
    invite_id: str | None = None
    #: The customer's Microsoft Customer Agreement as read in the target (``CustomerView``:
    #: None = not read or unreadable, with the reason) and its gate once planned.
    agreement: bool | None = None
    agreement_reason: str = ""
    agreement_id: str | None = None
    changes: list[actions.Change] = field(default_factory=list)
    #: By change id: the gates a change that depends on it waits for (transitively): its own
    #: ``blocked_by``, then itself when it is a gate. Every recorded change has an entry.
    inherited: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The customer's view in each of its other source tenants (``source`` is its view in
    #: its default one), by tenant name: a customer may be held in several.
    other_sources: Mapping[str, model.CustomerView] = field(default_factory=dict)
    _source_index: dict[str, dict[str, model.LiveSubscription]] = field(default_factory=dict)
    _families: products.Families | None = None
    _sources: tuple[str, ...] | None = None
    #: (action, subscription id) of every change recorded, for ``planned``.
    _planned: set[tuple[actions.Action, str | None]] = field(default_factory=set)
    #: ``consolidation.policy`` and the target's name: plain attributes, not properties,
    #: written for speed (read several times per subscription).
    policy: model.Policy = field(init=False)
    target_name: str = field(init=False)

    def __post_init__(self) -> None:
        self.policy = self.consolidation.policy
        self.target_name = self.consolidation.target.name

    @property
    def sources(self) -> tuple[str, ...]:
        """``customer.sources`` (its source tenants, its own first), computed once."""
        if self._sources is None:
            self._sources = self.customer.sources
        return self._sources

    def source_view(self, tenant: str) -> model.CustomerView | None:
        """The customer as read in source ``tenant`` (None: not one of its sources)."""
        if tenant == self.customer.source:
            return self.source
        return self.other_sources.get(tenant)

    def source_subscription(
        self, subscription_id: str, tenant: str | None = None
    ) -> model.LiveSubscription | None:
        """The subscription with this id in source ``tenant`` (default: the customer's own
        source), indexed once per tenant."""
        index = self._source_index.get(tenant or self.customer.source)
        if index is None:
            index = self.source_index(tenant or self.customer.source)
        # ``index.get(subscription_id.lower())``; an id already in lower case (they are stored
        # so, ``model``) is looked up as given: written for speed (no new string to hash).
        if subscription_id.islower():
            return index.get(subscription_id)
        return index.get(subscription_id.lower())

    def source_index(self, tenant: str) -> dict[str, model.LiveSubscription]:
        """The customer's subscriptions in source ``tenant`` by (lower-case) id, built once
        per tenant (empty when it is not one of the customer's sources)."""
        index = self._source_index.get(tenant)
        if index is None:
            view = self.source_view(tenant)
            index = {s.id: s for s in view.subscriptions} if view is not None else {}
            self._source_index[tenant] = index
        return index

    def tenant_of(self, subscription_id: str) -> str:
        """The source tenant holding ``subscription_id`` (the customer's own when none)."""
        # A loop, not next() over a generator: written for speed (read per subscription).
        for n in self.sources:
            if self.source_subscription(subscription_id, n):
                return n
        return self.customer.source

    diagnostics: list[actions.Diagnostic] = field(default_factory=list)
    azure_ready: bool = False
    #: Transfer requests of the customer as read on the target (``()`` when none or unread;
    #: planning.customer refuses to plan a transfer whose requests could not be read).
    transfers: tuple[model.LiveTransfer, ...] = ()
    #: How each source subscription moves (``actions.PairStrategy``), in planning order.
    strategies: list[actions.PairStrategy] = field(default_factory=list)
    #: Source tenant -> change ids every transfer request from it waits for: the target's
    #: Azure plan being bought or activated, when that request also carries an Azure plan
    #: (one request per source carries every product type, planning.azure).
    transfer_deps: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The change ids after which the customer's Azure plan in the target is active (None: not
    #: planned yet), so it is bought once whatever the number of Azure plans moving to it.
    azure_plan_deps: tuple[str, ...] | None = None

    def transfers_from_source(self, tenant: str | None = None) -> list[model.LiveTransfer]:
        """Requests from source partner ``tenant`` (default: the customer's own source) to
        the target, newest first."""
        if not self.transfers:
            return []
        source = self.consolidation.source(tenant or self.customer.source)
        if source is None:
            return []
        src, tgt = source.tenant_id.lower(), self.consolidation.target.tenant_id.lower()
        found = [
            t
            for t in self.transfers
            if t.source_partner_id == src and t.target_partner_id in (tgt, "")
        ]
        return sorted(found, key=lambda t: (t.created_at or _EPOCH, t.id), reverse=True)

    @property
    def families(self) -> products.Families:
        """Which offers are one product (the consolidation's Offers entries), built once."""
        if self._families is None:
            self._families = products.families(self.consolidation.offers)
        return self._families

    def address(
        self, tenant: str, subscription_id: str | None = None, key: str | None = None
    ) -> actions.Address:
        c = self.customer
        # ``actions.Address(...)``: ``fast_new``'s faster constructor (once per change).
        return _new_address(tenant, c.tenant_id, c.name, subscription_id, key)

    def add(
        self,
        action: actions.Action,
        address: actions.Address,
        reason: actions.Reason,
        detail: str,
        *,
        depends_on: tuple[str, ...] = (),
        before: Mapping[str, actions.Scalar] | None = None,
        after: Mapping[str, actions.Scalar] | None = None,
        gate: actions.Gate | None = None,
        strategy: actions.Strategy | None = None,
        overlap: actions.Overlap | None = None,
        deadlines: tuple[actions.Deadline, ...] = (),
    ) -> str:
        """Record a change and return its id (for later ``depends_on``). The same action on
        the same address is one change: a second one (two sources of an entry waiting on the
        one transfer that carries both) returns the first one's id."""
        # change_id(action, address), written out here: once per change.
        a = address
        raw = f"{_VALUE[action]}|{a.tenant}|{a.customer_id}|{a.subscription_id or ''}|{a.key or ''}"
        cid = "c" + _sha256(raw.encode()).hexdigest()[:15]
        inherit = self.inherited
        if cid in inherit:
            return cid
        deps: tuple[str, ...] = ()
        blocked_by: tuple[str, ...] = ()
        if len(depends_on) == 1:
            # The usual case, written out for speed: what its one dependency passes on.
            deps = depends_on
            blocked_by = inherit.get(depends_on[0], ())
        elif depends_on:
            deps = tuple(dict.fromkeys(depends_on))
            blocked: dict[str, None] = {}
            for d in deps:
                blocked.update(dict.fromkeys(inherit.get(d, ())))
            blocked_by = tuple(blocked)
        # A gate passes itself on after the gates it waits for (``blocked_by`` has no repeats:
        # a change's own id is never among its blockers).
        inherit[cid] = (*blocked_by, cid) if action in _GATES else blocked_by
        self._planned.add((action, address.subscription_id))
        # ``actions.Change(...)``, all fields in order: ``fast_new``'s faster constructor.
        change = _new_change(
            cid,  # id
            action,
            address,
            reason,
            detail,
            before,
            after,
            deps,  # depends_on
            blocked_by,
            gate,
            strategy,
            overlap,
            deadlines,
        )
        self.changes.append(change)
        return cid

    def planned(self, action: actions.Action, subscription_id: str) -> bool:
        """True when a change ``action`` on ``subscription_id`` is recorded already."""
        return (action, subscription_id) in self._planned

    def record(
        self,
        tenant: str,
        source: model.LiveSubscription,
        key: str,
        route: actions.Route,
        why: str,
        action: actions.Strategy | None = None,
        rejected: tuple[actions.Rejected, ...] = (),
    ) -> None:
        """Record how ``source`` (in source ``tenant``, for manifest entry ``key``) moves."""
        c = self.customer
        # ``actions.PairStrategy(...)``: ``fast_new``'s faster constructor (once per pair).
        self.strategies.append(
            _new_pair_strategy(
                tenant,
                c.tenant_id,
                c.name,
                source.id,
                key,
                COMMERCE[source.commerce],
                route,
                why,
                action,
                rejected,
            )
        )

    def warn(self, code: str, message: str) -> None:
        self.diagnostics.append(
            actions.Diagnostic(
                actions.Severity.WARNING, code, message, customer_id=self.customer.tenant_id
            )
        )

    def after_invite(self, *deps: str) -> tuple[str, ...]:
        """``deps`` plus the invitation gate when the customer has not accepted yet."""
        return ((self.invite_id,) if self.invite_id else ()) + deps

    def who(self) -> str:
        return f"{self.customer.name} ({self.customer.tenant_id})"


def subscription_fields(sub: model.LiveSubscription) -> dict[str, actions.Scalar]:
    """The before-image of a live subscription as it appears in a change."""
    return {
        "subscription_id": sub.id,
        "offer_id": sub.offer_id,
        "friendly_name": sub.friendly_name,
        "quantity": sub.quantity,
        "status": STATUS[sub.status],
        "auto_renew": sub.auto_renew,
    }
