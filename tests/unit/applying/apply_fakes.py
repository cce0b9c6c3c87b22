"""An in-memory Partner Center behind ``ports.Writer``, with scripted faults, a fake clock and
helpers that build plans, for the executor's unit tests."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler import errors, model
from reconciler.applying import executor, journal, ports, steps
from reconciler.planning import actions, markers

A = actions.Action
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUST = "c0000000-0000-0000-0000-000000000001"
#: The Microsoft Customer Agreement's template id (Microsoft's example).
TEMPLATE = "117a77b0-9360-443b-8795-c6dedc750cf9"


class FakeClock:
    def __init__(self) -> None:
        self.t = T0
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += timedelta(seconds=seconds)


@dataclass
class FakeSub:
    id: str
    offer_id: str
    friendly_name: str
    quantity: int
    status: str
    auto_renew: bool = True
    #: Polls left until a pending subscription turns active (None: never).
    activates_after: int | None = 0
    #: Emulator-like history: (time, status) per change.
    history: list[tuple[datetime, str]] = field(default_factory=list)
    #: Not in the subscription list before this moment (found by id at once).
    listed_from: datetime | None = None
    #: A pending subscription turns active on the first read at or after this moment.
    ready_at: datetime | None = None

    def view(self) -> ports.Sub:
        return ports.Sub(
            self.id,
            self.offer_id,
            self.friendly_name,
            self.quantity,
            model.SubscriptionStatus(self.status),
            self.auto_renew,
        )


class FakeWriter:
    """Tenants -> customer -> subscriptions. ``faults[op]`` is a list of "unknown-commit" (do
    it, then report unknown), "unknown" (don't, report unknown), "reject" or, for updates,
    "changed" (2055: the subscription changed since read; nothing written) consumed per call."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.subs: dict[tuple[str, str], dict[str, FakeSub]] = {}
        self.orders: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.faults: dict[str, list[str]] = {}
        self.writes: list[tuple[str, str, str, str]] = []  # (op, tenant, id, request_id)
        self.ids = (f"s{n:04d}" for n in itertools.count(1))
        self.new_activation_polls: int | None = 0
        #: When set, a new order's subscription turns active this long after the order
        #: (instead of after ``new_activation_polls`` reads).
        self.provisioning: timedelta | None = None
        self.transfers: dict[tuple[str, str], list[model.LiveTransfer]] = {}
        #: What each transfer request was asked to move (``request_transfer``'s ``kinds``).
        self.kinds: list[frozenset[model.CommerceModel]] = []
        #: (tenant, Azure plan id) -> the Azure subscriptions under it.
        self.azure: dict[tuple[str, str], set[str]] = {}
        #: How long a new order stays out of the order list, and its subscription out of the
        #: subscription list (Partner Center: up to 15 minutes for the order list).
        self.order_list_lag = timedelta()
        self.subscription_list_lag = timedelta()
        self.ordered_at: dict[str, datetime] = {}
        #: Confirmed acceptances of the Microsoft Customer Agreement, per (tenant, customer).
        self.agreements: dict[tuple[str, str], list[ports.AgreementSpec]] = {}

    def add(self, tenant: str, sub: FakeSub, customer: str = CUST) -> FakeSub:
        self.subs.setdefault((tenant, customer), {})[sub.id] = sub
        return sub

    def sub(self, tenant: str, sid: str, customer: str = CUST) -> FakeSub:
        return self.subs[(tenant, customer)][sid]

    def _fault(self, op: str) -> str | None:
        queue = self.faults.get(op) or []
        return queue.pop(0) if queue else None

    # ---------------------------------------------------------------------- ports.Writer

    def get_subscription(self, tenant: str, customer_id: str, subscription_id: str) -> ports.Sub:
        sub = self.subs.get((tenant, customer_id), {}).get(subscription_id)
        if sub is None:
            raise errors.NotFound(subscription_id)
        self._tick(sub)
        return sub.view()

    def _tick(self, sub: FakeSub) -> None:
        if sub.status == "pending" and sub.ready_at is not None:
            if self.clock.now() >= sub.ready_at:
                sub.status = "active"
                sub.history.append((self.clock.now(), "active"))
            return
        if sub.status == "pending" and sub.activates_after is not None:
            if sub.activates_after <= 0:
                sub.status = "active"
                sub.history.append((self.clock.now(), "active"))
            else:
                sub.activates_after -= 1

    def list_subscriptions(self, tenant: str, customer_id: str) -> Sequence[ports.Sub]:
        now = self.clock.now()
        subs = list(self.subs.get((tenant, customer_id), {}).values())
        subs = [s for s in subs if s.listed_from is None or s.listed_from <= now]
        for s in subs:
            self._tick(s)
        return [s.view() for s in subs]

    def find_order_by_name(
        self, tenant: str, customer_id: str, friendly_name: str
    ) -> ports.Ordered | None:
        listed_before = self.clock.now() - self.order_list_lag
        for oid, name in self.orders.get((tenant, customer_id), []):
            if name == friendly_name and self.ordered_at.get(oid, listed_before) <= listed_before:
                return ports.Ordered(oid, None)
        return None

    def order(
        self, tenant: str, customer_id: str, spec: ports.OrderSpec, *, request_id: str
    ) -> ports.Ordered:
        fault = self._fault("order")
        if fault == "reject":
            raise errors.WriteRejected("400 invalid offer")
        if fault == "unknown":
            raise errors.OutcomeUnknown("timeout")
        seen = [w for w in self.writes if w[0] == "order" and w[3] == request_id]
        if seen:  # Partner Center replays a request id it has seen: no second order
            return ports.Ordered("o-" + seen[0][2], seen[0][2])
        sid = next(self.ids)
        self.add(
            tenant,
            FakeSub(
                sid,
                spec.offer_id,
                spec.friendly_name,
                spec.quantity,
                "pending",
                activates_after=self.new_activation_polls,
                history=[(self.clock.now(), "pending")],
                listed_from=self.clock.now() + self.subscription_list_lag,
                ready_at=self.clock.now() + self.provisioning if self.provisioning else None,
            ),
            customer_id,
        )
        self.orders.setdefault((tenant, customer_id), []).append(("o-" + sid, spec.friendly_name))
        self.ordered_at["o-" + sid] = self.clock.now()
        self.writes.append(("order", tenant, sid, request_id))
        if fault == "unknown-commit":
            raise errors.OutcomeUnknown("connection reset after send")
        return ports.Ordered("o-" + sid, sid)

    def update(
        self,
        tenant: str,
        customer_id: str,
        subscription_id: str,
        patch: ports.SubscriptionPatch,
        *,
        request_id: str,
    ) -> ports.Sub:
        fault = self._fault("update")
        if fault == "reject":
            raise errors.WriteRejected("400")
        if fault == "changed":
            self.writes.append(("refused-update", tenant, subscription_id, request_id))
            raise errors.ResourceChanged("HTTP 400, code 2055: Etag is no longer valid")
        if fault == "unknown":
            raise errors.OutcomeUnknown("timeout")
        sub = self.subs[(tenant, customer_id)][subscription_id]
        if patch.status is not None:
            sub.status = patch.status.value
            sub.history.append((self.clock.now(), sub.status))
        if patch.quantity is not None:
            sub.quantity = patch.quantity
        if patch.auto_renew is not None:
            sub.auto_renew = patch.auto_renew
        self.writes.append(("update", tenant, subscription_id, request_id))
        if fault == "unknown-commit":
            raise errors.OutcomeUnknown("reset")
        return sub.view()

    def request_transfer(
        self,
        tenant: str,
        customer_id: str,
        source_tenant: str,
        subscription_id: str,
        quantity: int,
        *,
        request_id: str,
        kinds: Collection[model.CommerceModel] = (model.CommerceModel.NCE_LICENSE,),
    ) -> str:
        fault = self._fault("transfer")
        self.kinds.append(frozenset(kinds))
        if fault == "unknown":
            raise errors.OutcomeUnknown("timeout")
        self.writes.append(("transfer", tenant, subscription_id, request_id))
        self.transfers.setdefault((tenant, customer_id), []).append(
            model.LiveTransfer(
                id="t-" + subscription_id,
                status=model.TransferStatus.PENDING,
                source_partner_id=source_tenant,
                target_partner_id=tenant,
                created_at=self.clock.now(),
                expires_at=self.clock.now() + timedelta(days=30),
            )
        )
        if fault == "unknown-commit":
            raise errors.OutcomeUnknown("reset after send")
        return "t-" + subscription_id

    def azure_subscriptions(
        self, tenant: str, customer_id: str, subscription_id: str
    ) -> frozenset[str]:
        return frozenset(self.azure.get((tenant, subscription_id), ()))

    def list_transfers(
        self, tenant: str, customer_id: str, source_tenant: str
    ) -> Sequence[model.LiveTransfer]:
        """Requests whose ``source_partner_id`` is the source's name (the fake's tenant id)."""
        if self._fault("list_transfers") == "unreadable":
            raise errors.Unreadable("503 on GET transfers")
        known = self.transfers.get((tenant, customer_id), [])
        return [t for t in known if t.source_partner_id == source_tenant]

    def agreement_confirmed(self, tenant: str, customer_id: str) -> bool:
        if self._fault("agreement_confirmed") == "unreadable":
            raise errors.Unreadable("503 on GET agreements")
        return bool(self.agreements.get((tenant, customer_id)))

    def record_agreement(
        self, tenant: str, customer_id: str, agreement: ports.AgreementSpec, *, request_id: str
    ) -> ports.AgreementRecorded:
        """Partner Center's rules: the same contact again is 600061 (read back: already)."""
        fault = self._fault("record_agreement")
        if fault == "reject":
            raise errors.WriteRejected("400 800002")
        if fault == "unknown":
            raise errors.OutcomeUnknown("timeout")
        held = self.agreements.setdefault((tenant, customer_id), [])
        self.writes.append(("agreement", tenant, customer_id, request_id))
        if agreement in held:
            return ports.AgreementRecorded(TEMPLATE, already=True)
        held.append(agreement)
        if fault == "unknown-commit":
            raise errors.OutcomeUnknown("reset after send")
        return ports.AgreementRecorded(TEMPLATE)

    def correlation_id(self, tenant: str) -> str:
        return f"corr-{tenant}"


# ------------------------------------------------------------------------------ plan helpers


def addr(tenant: str, sid: str | None = None, key: str | None = "e3") -> actions.Address:
    return actions.Address(tenant, CUST, "Contoso", sid, key)


def create(cid: str = "c1", key: str = "e3", quantity: int = 10) -> actions.Change:
    return actions.Change(
        cid,
        A.CREATE,
        addr("target", None, key),
        actions.Reason.NOT_IN_TARGET,
        "order",
        after={
            "offer_id": "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
            "quantity": quantity,
            "billing_cycle": "monthly",
            "term_duration": "P1Y",
            "friendly_name": markers.with_marker("Office E3", key),
            "channel": "cart",
        },
    )


def source_change(
    cid: str, action: actions.Action, sid: str, quantity: int, deps: tuple[str, ...] = ()
) -> actions.Change:
    return actions.Change(
        cid,
        action,
        addr("de", sid),
        actions.Reason.REPLACED,
        "replaced",
        before={"subscription_id": sid, "quantity": quantity, "status": "active"},
        after={"status": "suspended"},
        depends_on=deps,
    )


def plan_of(*changes: actions.Change) -> actions.Plan:
    entry = actions.CustomerEntry(CUST, "Contoso", "de", actions.CustomerStatus.PLANNED, "sha256:x")
    return actions.Plan(
        tool_version="0",
        created_at=T0,
        consolidation="acme",
        target="target",
        inputs_digest="d",
        live_read_at=T0,
        customers=(entry,),
        changes=tuple(changes),
    )


def run(
    plan: actions.Plan,
    writer: FakeWriter,
    clock: FakeClock,
    state_dir: Path,
    *,
    timeout_minutes: int = 30,
    pending: Mapping[tuple[str, str], journal.Pending] | None = None,
    run_id: str = "run-1",
    lag_minutes: float = 15,
) -> steps.ApplyReport:
    log = journal.Journal(state_dir, run_id, journal.plan_id(plan))
    ex = executor.Executor(
        plan,
        writer,
        log,
        options=steps.Options(
            activation_timeout=timedelta(minutes=timeout_minutes),
            order_list_lag=timedelta(minutes=lag_minutes),
        ),
        now=clock.now,
        sleep=clock.sleep,
        pending=pending,
    )
    try:
        return ex.run()
    finally:
        log.close()


def with_deps(change: actions.Change, *deps: str) -> actions.Change:
    return replace(change, depends_on=deps)
