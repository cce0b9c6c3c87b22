"""Carry out a plan: its applicable changes in order, each re-checked against fresh live state
right before its write, journalled before and after, with unknown outcomes resolved by looking
for the write's effect (the planner's marker) before anything is sent again.

Branches on ``Change.action`` only (planning/actions.py). Clock, sleep and ids are injected.
This module must NOT import ``reconciler.partner_center`` (it talks through ``ports.Writer``),
print, or perform gates, deferred changes or anything the plan does not name.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Unpack

from reconciler import errors, writes
from reconciler.applying import checks, journal, ports
from reconciler.applying import orderlag as lag
from reconciler.applying.steps import Activity, ApplyReport, Options, Outcome, StepResult
from reconciler.applying.transfer_steps import Skip as _Skip
from reconciler.applying.transfer_steps import TransferSteps
from reconciler.model import SubscriptionStatus as Status
from reconciler.planning import actions, markers

A = actions.Action
Phase = journal.Phase
Handler = Callable[["Executor", actions.Change], StepResult]


class _Changed(Exception):
    """A PATCH met "the resource changed since it was read" (``errors.ResourceChanged``);
    its ``failed`` line is journalled. The step is carried out once more from a fresh read."""


class _Stopped(Exception):
    """The run is stopping (another worker failed, or Ctrl-C): this worker ends here. The
    step it was in stays as journalled (a create's ``started`` line is looked for next run)."""


@dataclass(slots=True)
class _View:
    """What this run knows of one customer's subscriptions in one tenant: each read after the
    customer's last write there that could change it (``Executor._wrote``). ``listed``: it
    holds the customer's whole list (no order sent there since the list was read).

    Why re-checks may use it instead of reading before every write (one read per customer
    and tenant, plus what our own writes return, instead of two GETs per source PATCH):

    - Every re-check is about state that only writes change. Writes from other applies are
      excluded by the target tenant's lock; this run's writes for a customer all come from
      the one worker that has the customer, and each of them updates or forgets the view
      (``_wrote``, ``_forget``, the order in ``_send_order``) before the next step reads it.
    - What a write of ours returns is a read taken after it: a PATCH's answer is the
      subscription as changed; an order's subscription is polled until active and the poll's
      answer is kept. So the rule-one check (target active with the seats) for a source
      write judges the target as read after the last write of ours that could change it:
      the create's activation poll or the resize's answer, never a read from before them.
    - A write that could change *other* subscriptions forgets them: a status change (an
      add-on follows its base), an order (the list lacks the new one: the next marker search
      lists again), a transfer, and any write whose outcome is unknown or failed (everything
      of the customer is read again).
    - Never-add-back-in-source needs no read (the action is refused by tenant), and a source
      is read, when not in the view, right before its own write.

    What the view does not see is a change made outside this run (a person in Partner Center)
    between its read and the write; a read right before each write only narrows that window,
    which the plan's staleness check and the lock already bound the same way.
    """

    subs: dict[str, ports.Sub] = field(default_factory=dict)
    listed: bool = False


def customer_groups(changes: Sequence[actions.Change]) -> list[list[actions.Change]]:
    """``changes`` grouped per customer, each group in the given (plan) order, groups in the
    order of their first change. The planner makes no dependency across customers; should a
    plan (a hand-edited file) have one anyway, the customers it links share one group, so a
    dependency always runs before, and on the same worker as, the change that needs it."""
    ids = {c.id: c.address.customer_id for c in changes}
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for c in changes:
        for d in c.depends_on:
            if d in ids:
                a, b = root(c.address.customer_id), root(ids[d])
                if a != b:
                    parent[b] = a
    groups: dict[str, list[actions.Change]] = {}
    for c in changes:
        groups.setdefault(root(c.address.customer_id), []).append(c)
    return list(groups.values())


class Executor(TransferSteps):
    """Runs one plan once. Use ``run()``; each call of it is one apply run."""

    def __init__(
        self,
        plan: actions.Plan,
        writer: ports.Writer,
        log: journal.Journal,
        *,
        options: Options,
        now: Callable[[], datetime],
        sleep: Callable[[float], None],
        pending: Mapping[tuple[str, str], journal.Pending] | None = None,
        transfers: Mapping[str, tuple[str, str]] | None = None,
        on_step: Callable[[StepResult], None] = lambda r: None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        on_activity: Callable[[Activity], None] = lambda a: None,
    ) -> None:
        self.plan = plan
        self.writer = writer
        self.log = log
        self.options = options
        self.now = now
        self.sleep = sleep
        self.pending = dict(pending or {})
        self.transfers = dict(transfers or {})
        self.requested: dict[str, str] = {}
        self.azure_moving: dict[str, frozenset[str]] = {}
        self.on_step = on_step
        self.on_activity = on_activity
        self.new_id = new_id
        self.done: set[str] = set()
        #: Set to make every worker stop before its next step (or poll).
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._results: dict[str, StepResult] = {}
        #: Customers a worker is on, and workers waiting between polls (``on_activity``).
        self._in_flight: Counter[str] = Counter()
        self._waiting = 0
        #: (customer, tenant) -> the customer's view of the tenant (touched only by the
        #: worker that has the customer).
        self._views: dict[tuple[str, str], _View] = {}
        #: The shortest time this run has seen a new order of ours take from its answer to
        #: a read showing its subscription active (``_await_active``); None before the first.
        self._provisioning: timedelta | None = None
        self.ids = {c.id for c in plan.changes}
        self.targets: dict[tuple[str, str], str] = {
            (c.address.customer_id, c.address.key): c.address.subscription_id
            for c in plan.changes
            if c.address.tenant == plan.target and c.address.key and c.address.subscription_id
        }

    def run(self) -> ApplyReport:
        """Execute every applicable change and return what happened, in plan order.

        With ``options.parallelism`` 1 the changes run one after the other in plan order. With
        more, the changes are grouped per customer (``customer_groups``): one group's changes
        run in plan order on one worker thread, and up to ``parallelism`` groups run at once,
        so one customer's wait for provisioning overlaps the others' work. What is shared
        between workers is guarded: the journal has one writer (``Journal.append`` holds a
        lock), ``on_step`` is called under this executor's lock (never two at once), and the
        sets of completed steps and known targets are only touched under it. Policy caps were
        checked on the whole plan before the run (``checks.check_caps``), so they hold
        whatever the interleaving. A ``JournalError`` (or any unexpected error) in one worker
        stops every worker before its next step, and is raised once they have all stopped.
        """
        todo = [c for c in self.plan.changes if c.applicable]
        workers = max(1, self.options.parallelism)
        groups = customer_groups(todo) if workers > 1 else [todo]
        if len(groups) <= 1:
            for change in todo:
                with self._working(change.address.customer_id):
                    self._record(self._step(change))
        else:
            self._parallel(groups, min(workers, len(groups)))
        report = ApplyReport(self.log.run_id, self.log.plan_id)
        report.steps.extend(self._results[c.id] for c in todo if c.id in self._results)
        return report

    def _parallel(self, groups: Sequence[Sequence[actions.Change]], workers: int) -> None:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply") as pool:
            futures = [pool.submit(self._run_group, g) for g in groups]
            try:
                for future in futures:
                    future.exception()  # waits; a failure sets the stop flag itself
            except BaseException:  # Ctrl-C in the main thread: let the workers stop too
                self.stopping.set()
                raise
        failures = [e for f in futures if (e := f.exception()) is not None]
        # The first real failure wins over the workers that merely stopped because of it.
        real = [e for e in failures if not isinstance(e, _Stopped)]
        if real or failures:
            raise (real or failures)[0]

    def _run_group(self, changes: Sequence[actions.Change]) -> None:
        """One worker: the changes of one group, in plan order, until told to stop."""
        try:
            for change in changes:
                if self.stopping.is_set():
                    raise _Stopped
                with self._working(change.address.customer_id):
                    self._record(self._step(change))
        except BaseException:
            self.stopping.set()
            raise

    def _record(self, result: StepResult) -> None:
        with self._lock:
            if result.outcome is Outcome.SUCCEEDED and result.active:
                self.done.add(result.change.id)
            self._results[result.change.id] = result
            self.on_step(result)

    def _pause(self, seconds: float) -> None:
        """Wait between polls; a stopping run (another worker failed, Ctrl-C) ends here."""
        if self.stopping.is_set():
            raise _Stopped
        self._activity(waiting=1)
        try:
            self.sleep(seconds)
        finally:
            self._activity(waiting=-1)
        if self.stopping.is_set():
            raise _Stopped

    @contextlib.contextmanager
    def _working(self, customer_id: str) -> Iterator[None]:
        """A worker is on ``customer_id`` for the block (one change of it)."""
        self._activity(customer=customer_id, step=1)
        try:
            yield
        finally:
            self._activity(customer=customer_id, step=-1)

    def _activity(self, *, customer: str = "", step: int = 0, waiting: int = 0) -> None:
        with self._lock:
            if customer:
                self._in_flight[customer] += step
                if self._in_flight[customer] <= 0:
                    del self._in_flight[customer]
            self._waiting += waiting
            self.on_activity(Activity(len(self._in_flight), self._waiting))

    # ------------------------------------------------------------------------------ plumbing

    def _event(self, c: actions.Change, phase: Phase, **extra: Unpack[journal.Details]) -> None:
        a = c.address
        tenant = self.plan.target if c.action is A.CREATE else a.tenant
        event: journal.Event = {
            "step": c.id,
            "action": c.action.value,
            "tenant": tenant,
            "customer_id": a.customer_id,
            "customer_name": a.customer_name,
            "subscription_id": a.subscription_id,
            "key": a.key,
            "phase": phase,
            "correlation_id": self.writer.correlation_id(tenant),
            "before": dict(c.before or {}),
            "after": dict(c.after or {}),
            **extra,
        }
        self.log.append(ts=self.now(), **event)

    def _step(self, c: actions.Change) -> StepResult:
        try:
            missing = [d for d in c.depends_on if d in self.ids and d not in self.done]
            if missing:
                raise _Skip(f"it depends on {', '.join(missing)}, which did not complete here")
            try:
                result = HANDLERS[c.action](self, c)
            except _Changed:
                # Partner Center says the subscription changed since it was read (2055 at
                # any status, 409, 412) and nothing was written: read it again, re-check
                # every rule against that read and decide again, once, with a new request id.
                self._forget(c)
                try:
                    result = HANDLERS[c.action](self, c)
                except _Changed as again:
                    return StepResult(c, Outcome.FAILED, f"failed: {again}")
            if c.action in (A.TRANSFER, A.ACCEPT):
                self._forget(c)  # a transfer moves subscriptions between tenants later
            return result
        except _Skip as skip:
            self._event(c, Phase.SKIPPED, reason=str(skip))
            return StepResult(c, Outcome.SKIPPED, f"skipped: {skip}")
        except errors.OutcomeUnknown as exc:
            self._forget(c)
            self._event(c, Phase.UNKNOWN, reason=str(exc))
            return StepResult(c, Outcome.UNKNOWN, f"outcome unknown: {exc}")
        except errors.JournalError:
            raise  # without a durable journal no further write may be sent: stop the run
        except errors.ReconcilerError as exc:
            self._forget(c)
            self._event(c, Phase.FAILED, reason=str(exc))
            return StepResult(c, Outcome.FAILED, f"failed: {exc}")

    def _fresh(self, tenant: str, customer_id: str, subscription_id: str) -> ports.Sub:
        """The subscription as read after this customer's last write that could change it:
        from the customer's view of the tenant (``_View``), else read now."""
        view = self._view(customer_id, tenant)
        known = view.subs.get(subscription_id)
        if known is not None:
            return known
        if view.listed:
            raise _Skip(f"subscription {subscription_id} no longer exists in {tenant}")
        try:
            sub = self.writer.get_subscription(tenant, customer_id, subscription_id)
        except errors.NotFound as exc:
            raise _Skip(f"subscription {subscription_id} no longer exists in {tenant}") from exc
        view.subs[sub.id] = sub
        return sub

    def _marked(self, customer_id: str, key: str, *, read: bool = False) -> ports.Sub | None:
        """The customer's target subscription carrying ``key``'s marker (not cancelled), from
        the customer's full list of the target (read now when ``read`` or when the view does
        not hold the whole list since this customer's last order there)."""
        view = self._view(customer_id, self.plan.target)
        if read or not view.listed:
            subs = self.writer.list_subscriptions(self.plan.target, customer_id)
            view.subs = {s.id: s for s in subs}
            view.listed = True
        found = [
            s
            for s in view.subs.values()
            if markers.parse_marker(s.friendly_name) == key and s.status not in ports.GONE
        ]
        return found[0] if found else None

    def _forget(self, c: actions.Change) -> None:
        """Forget every view of ``c``'s customer: after a write whose effect is not known
        exactly (unknown, failed, a transfer), every later check reads again."""
        for key in [k for k in self._views if k[0] == c.address.customer_id]:
            self._views.pop(key, None)

    def _view(self, customer_id: str, tenant: str) -> _View:
        key = (customer_id, tenant)
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = _View()
        return view

    def _wrote(self, c: actions.Change, tenant: str, answer: ports.Sub | None = None) -> None:
        """Update the customer's view of ``tenant`` after a write: a PATCH's answer is the
        subscription as read after the write; a status change may move others (add-ons follow
        their base), so they are forgotten; an order adds a subscription the list lacks; any
        other write (a transfer, an unknown or failed outcome) forgets the whole view."""
        view = self._view(c.address.customer_id, tenant)
        if answer is None:
            self._views.pop((c.address.customer_id, tenant), None)
        elif c.action in (A.SUSPEND, A.CANCEL, A.REACTIVATE):
            view.subs, view.listed = {answer.id: answer}, False
        else:
            view.subs[answer.id] = answer

    def _update(
        self, c: actions.Change, tenant: str, sid: str, patch: ports.SubscriptionPatch
    ) -> StepResult:
        rid = self.new_id()
        self._event(c, Phase.STARTED, request_id=rid)
        for attempt in range(self.options.same_id_retries + 1):
            try:
                sub = self.writer.update(tenant, c.address.customer_id, sid, patch, request_id=rid)
                break
            except errors.ResourceChanged as exc:
                self._forget(c)
                self._event(c, Phase.FAILED, request_id=rid, reason=str(exc))
                raise _Changed(str(exc)) from exc
            except errors.OutcomeUnknown as exc:
                self._wrote(c, tenant)
                if attempt >= self.options.same_id_retries:
                    self._event(c, Phase.UNKNOWN, request_id=rid, reason=str(exc))
                    return StepResult(c, Outcome.UNKNOWN, f"outcome unknown: {exc}", sid)
        result: dict[str, actions.Scalar] = {
            "status": sub.status,
            "quantity": sub.quantity,
            "auto_renew": sub.auto_renew,
        }
        self._wrote(c, tenant, sub)
        self._event(c, Phase.SUCCEEDED, request_id=rid, result=result)
        return StepResult(c, Outcome.SUCCEEDED, f"{sid}: {patch.describe()}", sid)

    # ------------------------------------------------------------------------------ target

    def _create(self, c: actions.Change) -> StepResult:
        a, after = c.address, c.after or {}
        key = a.key or ""
        spec = ports.OrderSpec(
            offer_id=str(after["offer_id"]),
            quantity=int(str(after["quantity"])),
            billing_cycle=str(after.get("billing_cycle") or "monthly"),
            term_duration=str(after["term_duration"]) if after.get("term_duration") else None,
            friendly_name=markers.with_marker(str(after.get("friendly_name") or key), key),
            channel=ports.OrderChannel(str(after.get("channel") or "order")),
        )
        found = self._look(a.customer_id, key, spec.friendly_name)
        earlier = self.pending.get((a.customer_id, key))
        sent = earlier.sent_at if earlier else None
        if found is None and sent is not None and self.now() < sent + self._lag:
            # An earlier run's order with a lost answer may not be listed yet: wait it out.
            found = self._await_order(a.customer_id, key, spec.friendly_name, sent)
            if found is None:
                raise lag.not_resent(spec.friendly_name, a.customer_id, sent, self._lag)
        if found is not None:
            return self._activated(c, found, "already ordered by an earlier run (marker found)")
        rid = self.new_id()
        self._event(c, Phase.STARTED, **_ids(spec, rid))
        sent_at = self.now()
        try:
            ordered = self._send_order(a.customer_id, spec, rid)
            placed_at = self.now()
        except errors.OutcomeUnknown as exc:
            if isinstance(exc, errors.OrderInProgress):  # it exists: wait for it, never resend
                found = self._look(a.customer_id, key, spec.friendly_name, orders=True)
            else:
                found = self._await_order(a.customer_id, key, spec.friendly_name, sent_at)
            if found is not None:
                return self._activated(
                    c, found, "ordered (found by marker after an unknown outcome)"
                )
            if isinstance(exc, errors.OrderInProgress):
                return self._in_progress(c, exc)
            raise lag.not_resent(spec.friendly_name, a.customer_id, sent_at, self._lag) from exc
        return self._activated(c, ordered, "ordered", request_id=rid, placed_at=placed_at)

    @property
    def _lag(self) -> timedelta:
        return self.options.order_list_lag

    def _await_order(
        self, customer_id: str, key: str, name: str, sent_at: datetime
    ) -> ports.Ordered | None:
        """Look for an order with a lost answer until found or the order list's lag since
        ``sent_at`` has passed (``applying.orderlag``); never sends anything."""
        return lag.await_order(
            lambda: self._look(customer_id, key, name, orders=True),
            sent_at=sent_at,
            lag=self._lag,
            now=self.now,
            sleep=self.sleep,
            first=self.options.poll_first,
            most=self.options.poll_max,
        )

    def _in_progress(self, c: actions.Change, exc: errors.OrderInProgress) -> StepResult:
        """Partner Center is still processing an order of ours: wait for its marked
        subscription to be listed; sending another would be a duplicate. Not listed in time,
        the outcome stays unknown (journalled, so the next run looks for the order first)."""
        sub = self._await_active(c, None)
        if sub is None:
            raise exc
        return self._activated(
            c, ports.Ordered(None, sub.id), "ordered (an order in progress was waited for)"
        )

    def _send_order(self, customer_id: str, spec: ports.OrderSpec, rid: str) -> ports.Ordered:
        # Whatever the answer, the customer's list of the target may now lack a subscription:
        # the next marker search reads it again (the subscriptions it holds are unchanged).
        self._view(customer_id, self.plan.target).listed = False
        for attempt in range(self.options.same_id_retries + 1):
            try:
                return self.writer.order(self.plan.target, customer_id, spec, request_id=rid)
            except errors.OrderInProgress:
                raise  # it is being processed: resending the same request changes nothing
            except errors.OutcomeUnknown:
                if attempt >= self.options.same_id_retries:
                    raise
        raise AssertionError("unreachable")

    def _look(
        self, customer_id: str, key: str, name: str, *, orders: bool = False
    ) -> ports.Ordered | None:
        sub = self._marked(customer_id, key)
        if sub is not None:
            return ports.Ordered(None, sub.id)
        earlier = self.pending.get((customer_id, key))
        if not orders and earlier is None:
            return None
        # An earlier run's order carries the name it was sent with, which a manifest edit
        # since may have changed: look under both.
        names = [name]
        if earlier is not None and earlier.friendly_name:
            names.append(markers.with_marker(earlier.friendly_name, key))
        for n in dict.fromkeys(names):
            found = self.writer.find_order_by_name(self.plan.target, customer_id, n)
            if found is not None:
                return found
        return None

    def _activated(
        self,
        c: actions.Change,
        ordered: ports.Ordered,
        what: str,
        request_id: str = "",
        placed_at: datetime | None = None,
    ) -> StepResult:
        result: dict[str, actions.Scalar] = {
            "order_id": ordered.order_id,
            "subscription_id": ordered.subscription_id,
        }
        self._event(
            c,
            Phase.SUCCEEDED,
            request_id=request_id,
            subscription_id=ordered.subscription_id,
            result=result,
            reason=what,
        )
        self.pending.pop((c.address.customer_id, c.address.key or ""), None)
        sub = self._await_active(c, ordered.subscription_id, placed_at)
        if sub is None or sub.status is not Status.ACTIVE:
            minutes = int(self.options.activation_timeout.total_seconds() // 60)
            sid = sub.id if sub else ordered.subscription_id
            return StepResult(
                c,
                Outcome.SUCCEEDED,
                f"{what}; not active within {minutes} minutes: its sources stay untouched "
                "and keep billing until a later apply",
                sid,
                active=False,
            )
        self.targets[(c.address.customer_id, c.address.key or "")] = sub.id
        return StepResult(c, Outcome.SUCCEEDED, f"{what}; {sub.id} is active", sub.id)

    def _await_active(
        self, c: actions.Change, sid: str | None, placed_at: datetime | None = None
    ) -> ports.Sub | None:
        """Read the ordered subscription until it is active (or gone, or the activation
        timeout passed) and return the last read, with back-off between reads.

        ``placed_at``: when the answer to our own order of it arrived. Then the first read
        waits until the earliest moment this run has seen one of its orders read active
        (``_provisioning``), instead of reading a subscription certainly still provisioning;
        the activation is still confirmed by a read, whatever the wait."""
        deadline = self.now() + self.options.activation_timeout
        delay = self.options.poll_first
        cid, key = c.address.customer_id, c.address.key or ""
        with self._lock:
            estimate = self._provisioning
        if placed_at is not None and estimate is not None:
            wait = min(placed_at + estimate, deadline) - self.now()
            if wait > timedelta(0):
                self._pause(wait.total_seconds())
        while True:
            sub: ports.Sub | None
            try:
                if sid:
                    sub = self.writer.get_subscription(self.plan.target, cid, sid)
                    self._view(cid, self.plan.target).subs[sub.id] = sub
                else:
                    sub = self._marked(cid, key, read=True)
            except errors.NotFound:
                sub = None  # ordered but not listed yet: keep polling until the deadline
            if sub is not None and (sub.status is Status.ACTIVE or sub.status in ports.GONE):
                if placed_at is not None and sub.status is Status.ACTIVE:
                    self._provisioned(self.now() - placed_at)
                return sub
            if self.now() >= deadline:
                return sub
            self._pause(delay)
            delay = min(delay * 2, self.options.poll_max)

    def _provisioned(self, took: timedelta) -> None:
        """An order of ours was read active ``took`` after its answer arrived: the shortest
        such time is how long later orders' first read waits. It bounds the provisioning
        time from above, give or take a request's latency (the read was answered after the
        subscription turned active; the order's answer came right after it was placed), so
        a later order that provisions as fast is read once. Only the number of reads
        depends on it: an order still provisioning then is read again after back-off."""
        with self._lock:
            if self._provisioning is None or took < self._provisioning:
                self._provisioning = took

    def _target_update(self, c: actions.Change) -> StepResult:
        a, after = c.address, c.after or {}
        sid = a.subscription_id or ""
        if a.tenant != self.plan.target:
            # The procedure's last rule: nothing is ever added back in a source tenant (no
            # seats, no re-activation), whatever a plan file says.
            raise errors.ApplyRefusedError(
                f"{c.action.value} of {sid} in source tenant '{a.tenant}' refused: seats are "
                "never added and subscriptions never re-activated in a source tenant"
            )
        fresh = self._fresh(a.tenant, a.customer_id, sid)
        if c.action is A.RESIZE:
            want = int(str(after["quantity"]))
            if fresh.quantity == want:
                return self._noop(c, f"already has {want} seats")
            if fresh.status is not Status.ACTIVE:
                raise _Skip(f"{sid} is {fresh.status}; seats change only on an active one")
            patch = ports.SubscriptionPatch(quantity=want)
        else:
            if fresh.status is Status.ACTIVE:
                return self._noop(c, "already active")
            if fresh.status is not Status.SUSPENDED:
                raise _Skip(f"{sid} is {fresh.status}, not suspended")
            patch = ports.SubscriptionPatch(status=Status.ACTIVE)
        return self._update(c, a.tenant, sid, patch)

    def _noop(self, c: actions.Change, why: str) -> StepResult:
        self._event(c, Phase.SUCCEEDED, reason=why)
        return StepResult(c, Outcome.SUCCEEDED, why, c.address.subscription_id)

    def _record_agreement(self, c: actions.Change) -> StepResult:
        """Record the customer's acceptance of the Microsoft Customer Agreement in the target
        (the manifest's record, carried in ``after``), unless the target already lists one.
        A lost answer is read back before the same request is sent again."""
        a, after = c.address, c.after or {}
        if a.tenant != self.plan.target:
            raise errors.ApplyRefusedError(
                f"{c.action.value} for {a.customer_name} in source tenant '{a.tenant}' "
                "refused: the agreement is recorded in the target only"
            )
        if self.writer.agreement_confirmed(a.tenant, a.customer_id):
            return self._noop(c, f"already confirmed in {a.tenant}; nothing posted")
        spec = ports.AgreementSpec(
            first_name=str(after.get("first_name") or ""),
            last_name=str(after.get("last_name") or ""),
            email=str(after.get("email") or ""),
            phone_number=str(after.get("phone_number") or ""),
            date_agreed=str(after.get("date_agreed") or ""),
        )
        if not (spec.first_name and spec.last_name and spec.email and spec.date_agreed):
            raise errors.ApplyRefusedError(
                f"{c.action.value} for {a.customer_name} names no complete signer "
                "(first and last name, email, day); nothing was recorded"
            )
        rid = self.new_id()
        self._event(c, Phase.STARTED, request_id=rid)
        for attempt in range(self.options.same_id_retries + 1):
            try:
                done = self.writer.record_agreement(a.tenant, a.customer_id, spec, request_id=rid)
                break
            except errors.OutcomeUnknown as exc:
                # The confirmation may have been created: look before sending it again.
                if self.writer.agreement_confirmed(a.tenant, a.customer_id):
                    done = ports.AgreementRecorded("", already=True)
                    break
                if attempt >= self.options.same_id_retries:
                    self._event(c, Phase.UNKNOWN, request_id=rid, reason=str(exc))
                    return StepResult(c, Outcome.UNKNOWN, f"outcome unknown: {exc}")
        what = (
            "already recorded (Partner Center holds this confirmation)"
            if done.already
            else f"recorded the acceptance by {spec.first_name} {spec.last_name} on "
            f"{spec.date_agreed}"
        )
        result: dict[str, actions.Scalar] = {"template_id": done.template_id or None}
        self._event(c, Phase.SUCCEEDED, request_id=rid, result=result, reason=what)
        return StepResult(c, Outcome.SUCCEEDED, what)

    # ------------------------------------------------------------------------------ source

    def _source(self, c: actions.Change) -> StepResult:
        a = c.address
        sid = a.subscription_id or ""
        fresh = self._fresh(a.tenant, a.customer_id, sid)
        if c.action is A.SUSPEND:
            if fresh.status is Status.SUSPENDED:
                return self._noop(c, "already suspended")
            patch = ports.SubscriptionPatch(status=Status.SUSPENDED)
        elif c.action is A.CANCEL:
            if fresh.status is Status.DELETED:
                return self._noop(c, "already cancelled")
            patch = ports.SubscriptionPatch(status=Status.DELETED)
        else:
            if not fresh.auto_renew:
                return self._noop(c, "auto-renew already off")
            patch = ports.SubscriptionPatch(auto_renew=False)
        if fresh.status not in (Status.ACTIVE, Status.SUSPENDED) or (
            c.action is A.SUSPEND and fresh.status is not Status.ACTIVE
        ):
            raise _Skip(f"source {sid} is {fresh.status} now")
        self._rule_one(c, fresh)
        return self._update(c, a.tenant, sid, patch)

    def _rule_one(self, c: actions.Change, fresh: ports.Sub) -> None:
        a = c.address
        key = a.key or ""
        tid = self.targets.get((a.customer_id, key))
        target: ports.Sub | None
        if tid:
            try:
                target = self._fresh(self.plan.target, a.customer_id, tid)
            except _Skip:
                target = None
        else:
            target = self._marked(a.customer_id, key)
        if why := checks.target_blocks(target, checks.required_seats(self.plan, c, fresh.quantity)):
            raise _Skip(f"source {a.subscription_id} stays untouched because {why}")


#: Apply's handler for every writing action: the one per-action table outside
#: ``planning/verbs.py`` (a test checks it covers exactly the actions that write).
HANDLERS: Mapping[actions.Action, Handler] = {
    A.RECORD_AGREEMENT: Executor._record_agreement,
    A.CREATE: Executor._create,
    A.RESIZE: Executor._target_update,
    A.REACTIVATE: Executor._target_update,
    A.SUSPEND: Executor._source,
    A.CANCEL: Executor._source,
    A.DISABLE_AUTO_RENEW: Executor._source,
    A.TRANSFER: Executor._transfer,
    A.ACCEPT: Executor._accept,
}


def _ids(spec: ports.OrderSpec, rid: str, reason: str = "") -> journal.Details:
    """The request ids an order will be sent with: the checkout's and, through a cart, the
    cart's (so the journal holds every MS-RequestId that leaves this machine)."""
    found: journal.Details = {"request_id": rid}
    if spec.channel is ports.OrderChannel.CART:
        found["cart_request_id"] = writes.cart_request_id(rid)
    if reason:
        found["reason"] = reason
    return found
