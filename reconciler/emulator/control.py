"""The emulator's control surface: the in-process ``Control`` helper and the same operations
over HTTPS under ``/_emulator/`` (seed/reset, snapshot, clock, invitations, Azure hand-off,
faults, settings, ledger, history, device-code approval, certificates, test tokens).

These calls stand in for things that happen outside the API (a customer accepting an
invitation, Microsoft support moving Azure, time passing). They must never be reachable under
``/v1``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from reconciler.emulator import snapshots
from reconciler.emulator.clock import parse_moment
from reconciler.emulator.engine import Engine
from reconciler.emulator.identity import Identity
from reconciler.emulator.policies import FaultRule, Faults, Replays, Throttle
from reconciler.emulator.seeds import read_seed
from reconciler.emulator.world import World, new_subscription


class ControlError(ValueError):
    """A control call that cannot be carried out (HTTP 400 with ``{"error": ...}``)."""


class Control:
    """Direct, thread-safe control of a running emulator (same operations as /_emulator/)."""

    def __init__(
        self,
        engine: Engine,
        identity: Identity,
        faults: Faults,
        throttle: Throttle,
        replays: Replays,
        state_dir: Path,
    ) -> None:
        self._engine, self._identity = engine, identity
        self._faults, self._throttle, self._replays = faults, throttle, replays
        self._state_dir = state_dir

    # -- world ---------------------------------------------------------------------------

    def reset(self, world: Path | str | dict[str, Any] | World | None = None) -> None:
        """Reload the seed (or load ``world``), clearing ledger, history, buckets and replays."""
        if world is not None and not isinstance(world, World):
            world = read_seed(world)
        self._engine.reset(world)
        self._throttle.reset()
        self._replays.clear()

    def snapshot(self) -> dict[str, Any]:
        """The whole world as JSON-able data (for assertions)."""
        with self._engine.lock:
            self._engine.settle()
            return snapshots.snapshot(self._engine)

    def save(self) -> Path:
        """Write a snapshot to ``<state dir>/snapshot.json`` and return the path."""
        return snapshots.save(self.snapshot(), self._state_dir / "snapshot.json")

    # -- time ----------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """The emulator clock."""
        return self._engine.clock.now()

    def advance_clock(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> dt.datetime:
        """Move the emulator clock forward and run whatever became due."""
        delta = dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        with self._engine.lock:
            try:
                now = self._engine.clock.advance(delta)
            except ValueError as exc:
                raise ControlError(str(exc)) from exc
            self._engine.settle()
        return now

    # -- things customers and Microsoft do -------------------------------------------------

    def set_customer_agreement(self, customer_id: str, accepted: bool) -> None:
        """Whether the customer has accepted the Microsoft Customer Agreement (as confirmed
        through ``POST .../agreements``); purchases need it (``require_customer_agreement``)."""
        from reconciler.emulator.seeds import agreement_record

        with self._engine.lock:
            customer = self._engine.world.customers.get(customer_id.lower())
            if customer is None:
                raise ControlError(f"unknown customer {customer_id}")
            today = self._engine.clock.now().date().isoformat()
            if not accepted:
                customer.agreements.clear()
            elif not customer.agreements:
                customer.agreements.append(agreement_record(customer, date=today))

    def customer_agreements(self, customer_id: str) -> list[dict[str, Any]]:
        """Copies of the customer's confirmed agreements, oldest first (tests: what apply
        posted)."""
        import copy

        with self._engine.lock:
            customer = self._engine.world.customers.get(customer_id.lower())
            if customer is None:
                raise ControlError(f"unknown customer {customer_id}")
            return copy.deepcopy(customer.agreements)

    def accept_invitation(self, customer_id: str, partner: str) -> bool:
        """The customer's admin accepts ``partner``'s reseller invitation (False if already)."""
        with self._engine.lock:
            self._engine.settle()
            world = self._engine.world
            customer = world.customers.get(customer_id.lower())
            found = world.partner(partner)
            if customer is None or found is None:
                raise ControlError(f"unknown customer {customer_id!r} or partner {partner!r}")
            now = self._engine.clock.now()
            created = world.relate(customer, found.tenant_id.lower(), now)
            if created:
                self._engine.history.record(
                    now,
                    "relationship.accepted",
                    origin="control",
                    partner_id=found.tenant_id.lower(),
                    customer_id=customer_id.lower(),
                )
            return created

    def azure_handoff(self, customer_id: str, *, source: str, target: str) -> dict[str, str]:
        """Microsoft support moves the customer's Azure: source rows ``suspended``, new
        ``active`` rows under the target. Returns {source subscription id: new id}."""
        with self._engine.lock:
            self._engine.settle()
            world, now = self._engine.world, self._engine.clock.now()
            src, dst = world.partner(source), world.partner(target)
            customer = world.customers.get(customer_id.lower())
            if src is None or dst is None or customer is None:
                raise ControlError(f"unknown customer {customer_id!r} or partner")
            if dst.tenant_id.lower() not in customer.relationships:
                raise ControlError(
                    f"{customer.company_name} has not accepted {dst.name}'s "
                    "invitation; Microsoft cannot move Azure there yet"
                )
            moved = {}
            for sub in world.pair_subscriptions(src.tenant_id.lower(), customer_id.lower()):
                if not sub.offering.is_azure or sub.status != "active":
                    continue
                twin = new_subscription(
                    sub.offering,
                    partner_id=dst.tenant_id.lower(),
                    customer_id=sub.customer_id,
                    created=now,
                    quantity=1,
                    billing_cycle=sub.billing_cycle,
                    term="",
                    friendly_name=sub.friendly_name,
                    status="active",
                    entitlement_id=sub.entitlement_id,
                )
                world.add_subscription(twin)
                sub.status = "suspended"
                self._engine.changed(
                    sub,
                    "azure.handoff.source",
                    {"status": ["active", "suspended"]},
                    origin="control",
                )
                self._engine.changed(
                    twin,
                    "azure.handoff.target",
                    {"status": [None, "active"], "handedOffFrom": [None, sub.id]},
                    origin="control",
                )
                moved[sub.id] = twin.id
            return moved

    def approve_device_code(self, user_code: str, upn: str = "") -> str:
        """A partner user approves a device-code sign-in; returns the user's UPN."""
        with self._engine.lock:
            try:
                return self._identity.approve_device(self._engine.world, user_code, upn)
            except KeyError as exc:
                raise ControlError(str(exc.args[0])) from exc

    def register_certificate(self, client_id: str, certificate_pem: str) -> None:
        """Register a public certificate (PEM) as a credential of app ``client_id``."""
        with self._engine.lock:
            app = self._engine.world.app(client_id)
            if app is None or app.public:
                raise ControlError(f"no confidential app {client_id!r}")
            app.certificates.append(certificate_pem)

    def mint_token(
        self,
        partner: str,
        *,
        app_only: bool = True,
        lifetime: int | None = None,
        audience: str | None = None,
    ) -> str:
        """An access token for ``partner`` (tests: expired, foreign-audience, delegated)."""
        found = self._engine.world.partner(partner)
        if found is None:
            raise ControlError(f"unknown partner {partner!r}")
        app = next(a for a in found.apps if not a.public) if found.apps else None
        user = found.users[0] if found.users else None
        kwargs: dict[str, Any] = {"lifetime": lifetime}
        if audience:
            kwargs["audience"] = audience
        return self._identity.mint(
            found.tenant_id,
            app.client_id if app else str(uuid.uuid4()),
            app_only=app_only,
            upn=user.upn if user and not app_only else "",
            object_id=user.object_id if user and not app_only else "",
            **kwargs,
        )

    # -- knobs and records -------------------------------------------------------------------

    def set_fault(self, *rules: dict[str, Any] | FaultRule, seed: int | None = None) -> None:
        """Replace the fault rules (none = clear); see ``policies.FaultRule``."""
        try:
            parsed = [r if isinstance(r, FaultRule) else FaultRule.from_dict(r) for r in rules]
        except (TypeError, ValueError) as exc:
            raise ControlError(f"bad fault rule: {exc}") from exc
        self._faults.set(parsed, seed)

    def faults(self) -> list[dict[str, Any]]:
        """The active fault rules with their counters."""
        return [r.as_dict() for r in self._faults.rules]

    def set_limits(self, **values: Any) -> dict[str, Any]:
        """Change settings (``page_size``, ``rate_limit_per_minute``, ``patch_async``, ...)."""
        with self._engine.lock:
            try:
                self._engine.settings.update(values)
            except (KeyError, TypeError, ValueError) as exc:
                raise ControlError(str(exc)) from exc
            self._throttle.reset()
            return self._engine.settings.as_dict()

    def settings(self) -> dict[str, Any]:
        """The current settings."""
        return self._engine.settings.as_dict()

    def ledger(
        self,
        *,
        customer_id: str | None = None,
        subscription_id: str | None = None,
        since: str | None = None,
    ) -> list[dict[str, Any]]:
        """Billing/service rows per (day, subscription); see ``ledger.Ledger.days``."""
        with self._engine.lock:
            self._engine.settle()
            now = self._engine.clock.now()
            start = parse_moment(since, now=now) if since else None
            return self._engine.ledger.days(
                now,
                since=start,
                customer_id=customer_id,
                subscription_id=subscription_id,
                names=self._engine.names(),
            )

    def requests(self, *, after: int = 0) -> list[dict[str, Any]]:
        """API requests served (reads too) with ``seq`` greater than ``after``, oldest first:
        ``seq``, ``time``, ``partnerTenantId``, ``method``, ``path``, ``query``, ``status``."""
        with self._engine.lock:
            return self._engine.requests.after(after)

    def history(self, *, after: int = 0) -> list[dict[str, Any]]:
        """Write events with ``seq`` greater than ``after``."""
        with self._engine.lock:
            self._engine.settle()
            return [dict(e) for e in self._engine.history.events[after:]]
