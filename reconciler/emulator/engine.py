"""The emulator's state machine: the world plus clock, ledger, history and scheduled jobs.

Routes and control calls hold ``engine.lock`` while they read or write; ``settle()`` runs the
jobs that are due on the emulator clock (provisioning, deferred 202 PATCHes, transfer
completion and expiry) before each request, so time-driven changes are lazy but exact. It
must not parse HTTP or render API JSON.
"""

from __future__ import annotations

import copy
import datetime as dt
import heapq
import itertools
import threading
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.clock import Clock
from reconciler.emulator.ledger import History, Ledger, Requests
from reconciler.emulator.protocol import ApiFault, Principal
from reconciler.emulator.seeds import load_world
from reconciler.emulator.world import Customer, Subscription, World


@dataclass(slots=True)
class Settings:
    """Behaviour knobs (all changeable at run time through the control surface)."""

    page_size: int = 20
    rate_limit_per_minute: int = 500  # per partner tenant; 0 disables
    pair_rate_limit_per_minute: int = 0  # per (partner, customer); 0 disables
    provisioning_delay_seconds: float = 0.0  # on the emulator clock
    idempotency_ttl_seconds: float = 3600.0
    patch_async: bool = False  # answer subscription PATCHes with 202 + Location
    transfer_expiry_days: int = 30
    #: Switches for how today's service differs from its older documentation (docs §0):
    #: every /v1 JSON body starts with a UTF-8 byte-order mark (off: rarely seen).
    bom_prefix: bool = False
    #: HTTP status of a stale ``If-Match`` (code 2055): 400 per today's error list, or 412.
    stale_etag_status: int = 400
    #: Seconds (emulator clock) before a new order shows in the customer's order list; a new
    #: order "can take up to 15 minutes" to appear (purchase-new-commerce-license-based).
    order_list_delay_seconds: float = 900.0
    #: List transfers in a ``{items}`` envelope instead of Microsoft's bare JSON array.
    transfer_list_envelope: bool = False
    #: Today's service: an order of a legacy license offer is 403 2091 (carts: line 500600).
    refuse_legacy_purchases: bool = True
    #: New-commerce availability ids are reissued every N days on the emulator clock (counted
    #: from the world's load); an older catalogItemId then gives cart line error 10001. 0: never.
    availability_rotation_days: float = 30.0
    #: A purchase for a customer who has not accepted the Microsoft Customer Agreement is
    #: 403 13605 (new-commerce purchases require it).
    require_customer_agreement: bool = True

    def update(self, values: dict[str, Any]) -> None:
        """Set fields from camelCase or snake_case names; unknown names raise KeyError."""
        for key, value in values.items():
            name = _snake(key)
            if name not in self.__slots__:
                raise KeyError(f"unknown setting {key!r}")
            current = getattr(self, name)
            setattr(self, name, type(current)(value))

    def as_dict(self) -> dict[str, Any]:
        """Settings as camelCase JSON."""
        return {_camel(n): getattr(self, n) for n in self.__slots__}


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class Engine:
    """World state plus everything that changes it over time."""

    def __init__(
        self, seed: dict[str, Any] | World, *, settings: Settings, clock: Clock, github_issuer: str
    ) -> None:
        self.lock = threading.RLock()
        self.settings = settings
        self.clock = clock
        self._github_issuer = github_issuer
        self._seed = seed
        self._jobs: list[tuple[dt.datetime, int, str, str]] = []
        self._seq = itertools.count()
        self.world: World
        self.ledger: Ledger
        self.history: History
        #: Every API request served, reads included (``control.requests``).
        self.requests = Requests()
        self.reset()

    def reset(self, seed: dict[str, Any] | World | None = None) -> None:
        """Load ``seed``, or reload the world the emulator started with."""
        with self.lock:
            now = self.clock.now()
            source = seed or self._seed
            if isinstance(source, World):  # a prepared world: copy, so reset() restores it
                self.world = copy.deepcopy(source)
            else:
                self.world = load_world(
                    copy.deepcopy(source), now=now, github_issuer=self._github_issuer
                )
            self.catalog_epoch = now
            self.ledger = Ledger(since=now)
            self.history = History()
            self.requests = Requests()
            self._jobs.clear()
            for sub in self.world.subscriptions.values():
                self.ledger.observe(sub, now)
                self.track_term(sub)

    def availability_generation(self) -> int:
        """How many times availability ids have been reissued since the world was loaded."""
        days = self.settings.availability_rotation_days
        if days <= 0:
            return 0
        elapsed = (self.clock.now() - self.catalog_epoch).total_seconds()
        return max(0, int(elapsed // (days * 86400)))

    def names(self) -> dict[str, str]:
        """Partner tenant id -> partner name."""
        return {tid: p.name for tid, p in self.world.partners.items()}

    # -- time ----------------------------------------------------------------------------

    def schedule(self, at: dt.datetime, kind: str, key: str) -> None:
        """Run job ``kind`` for ``key`` once the emulator clock reaches ``at``."""
        heapq.heappush(self._jobs, (at, next(self._seq), kind, key))

    def track_term(self, sub: Subscription) -> None:
        """Schedule the end of ``sub``'s current term (renewal or expiry, job ``term_end``)."""
        if not sub.offering.is_azure and sub.term_duration:
            self.schedule(term_end(sub), "term_end", sub.id.lower())

    def settle(self) -> None:
        """Run every job that is due (call with the lock held)."""
        if not self._jobs:
            return
        now = self.clock.now()
        from reconciler.emulator import jobs  # jobs imports engine types; avoid a cycle

        while self._jobs and self._jobs[0][0] <= now:
            at, _, kind, key = heapq.heappop(self._jobs)
            jobs.run(self, kind, key, at)

    # -- shared checks and records -------------------------------------------------------

    def customer_for(self, principal: Principal | None, customer_id: str) -> Customer:
        """The customer, if the caller's partner has a relationship with it (else 403/404)."""
        assert principal is not None
        cid = customer_id.lower()
        if not _is_guid(cid):
            raise ApiFault(400, 900118, f"Invalid Customer Id: {customer_id}.")
        customer = self.world.customers.get(cid)
        if customer is None:
            raise ApiFault(404, 60003, f"Tenant not found: {customer_id}.")
        if principal.tenant_id not in customer.relationships:
            raise ApiFault(
                403,
                20002,
                f"Partner {principal.tenant_id} has no commerce "
                f"relationship with the customer {customer_id}.",
            )
        return customer

    def subscription_for(
        self, principal: Principal | None, customer: Customer, subscription_id: str
    ) -> Subscription:
        """The caller's subscription of this customer (404 20003 otherwise)."""
        assert principal is not None
        sub = self.world.subscriptions.get(subscription_id.lower())
        if (
            sub is None
            or sub.partner_id != principal.tenant_id
            or sub.customer_id != customer.tenant_id.lower()
        ):
            raise ApiFault(404, 20003, f"Subscription with ID {subscription_id} not found.")
        return sub

    def changed(
        self,
        sub: Subscription,
        action: str,
        changes: dict[str, Any],
        *,
        request_id: str = "",
        origin: str = "api",
        when: dt.datetime | None = None,
    ) -> None:
        """Bump the etag, update the ledger and log the change (at ``when``, default now)."""
        now = when or self.clock.now()
        sub.version += 1
        self.ledger.observe(sub, now)
        self.history.record(
            now,
            action,
            partner_id=sub.partner_id,
            customer_id=sub.customer_id,
            subscription_id=sub.id,
            request_id=request_id,
            changes=changes,
            origin=origin,
        )


def _is_guid(text: str) -> bool:
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        c in "0123456789abcdef" for c in text.replace("-", "")
    )


def term_end(sub: Subscription) -> dt.datetime:
    """When a subscription's current term is over: midnight after its (inclusive) end day."""
    return dt.datetime.combine(sub.end.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
