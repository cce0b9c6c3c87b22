"""Apply's steps of a partner-to-partner transfer, both sides: the target requests it
(``TRANSFER``) and, under ``policy.transferAcceptance: apply``, the source accepts it with the
source tenant's own credentials (``ACCEPT``); the target subscription is then found through
the completed line's order and verified active with the seats before the pair counts as done.

A mixin of ``executor.Executor``: the executor's state and plumbing it uses are declared here
for the type checker only. Like the executor it must NOT import ``reconciler.partner_center``,
print, or move anything the plan does not name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from reconciler import errors, writes
from reconciler.applying import journal, ports
from reconciler.applying import transfers as guards
from reconciler.applying.steps import Options, Outcome, StepResult
from reconciler.model import CommerceModel, LiveTransferLine, TransferStatus, classify_offer
from reconciler.model import SubscriptionStatus as Status
from reconciler.planning import actions

if TYPE_CHECKING:
    from typing import Unpack

A = actions.Action
Phase = journal.Phase


class Skip(Exception):
    """A re-check no longer holds: the step is skipped with this reason."""


class TransferSteps:
    """The ``TRANSFER`` and ``ACCEPT`` handlers (``Executor`` inherits them)."""

    plan: actions.Plan
    writer: ports.Writer
    log: journal.Journal
    options: Options
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    new_id: Callable[[], str]
    done: set[str]
    ids: set[str]
    #: Source subscription id -> (run id, ts) of the journal's last transfer request.
    transfers: dict[str, tuple[str, str]]
    #: Source subscription id -> id of the transfer requested for it in this run.
    requested: dict[str, str]
    targets: dict[tuple[str, str], str]

    if TYPE_CHECKING:

        def _event(
            self, c: actions.Change, phase: Phase, **extra: Unpack[journal.Details]
        ) -> None: ...

        def _fresh(self, tenant: str, customer_id: str, subscription_id: str) -> ports.Sub: ...

        def _noop(self, c: actions.Change, why: str) -> StepResult: ...

        def _await_active(self, c: actions.Change, sid: str | None) -> ports.Sub | None: ...

    # ------------------------------------------------------------------------------ request

    def _transfer(self, c: actions.Change) -> StepResult:
        a = c.address
        sid = a.subscription_id or ""
        fresh = self._fresh(a.tenant, a.customer_id, sid)
        if fresh.status is not Status.ACTIVE:
            raise Skip(f"source {sid} is {fresh.status}; only active ones transfer")
        # The live check: a request from this source that is still open makes a second one a
        # duplicate (Partner Center answers 409 900101 at best). An unreadable list fails the
        # step: nothing is sent blind.
        known = self.writer.list_transfers(self.plan.target, a.customer_id, a.tenant)
        if pending := guards.already_pending(known, self.now(), a.tenant):
            # The open request carries this subscription too (one request per source): its
            # acceptance in this run accepts that request.
            found = guards.open_request(known, self.now())
            if found is not None:
                self.requested[sid] = found.id.lower()
            return self._noop(c, pending)
        if blocked := guards.journal_blocks(sid, self.transfers, known, self.now()):
            raise Skip(blocked)
        rid = self.new_id()
        self._event(c, Phase.STARTED, request_id=rid)
        try:
            tid = self.writer.request_transfer(
                self.plan.target,
                a.customer_id,
                a.tenant,
                sid,
                fresh.quantity,
                request_id=rid,
                kinds=self._kinds(c, fresh),
            )
        except errors.OutcomeUnknown:
            # Look for the request's effect before anything else is sent.
            after = self.writer.list_transfers(self.plan.target, a.customer_id, a.tenant)
            found = guards.open_request(after, self.now())
            if found is None:
                raise
            tid = found.id
        self._event(c, Phase.SUCCEEDED, request_id=rid, result={"transfer_id": tid})
        self.transfers[sid] = (self.log.run_id, self.now().isoformat())
        self.requested[sid] = tid.lower()
        return StepResult(c, Outcome.SUCCEEDED, f"transfer {tid} requested", sid)

    def _kinds(self, c: actions.Change, fresh: ports.Sub) -> frozenset[CommerceModel]:
        """What the request for ``c`` moves: the commerce model of every subscription the plan
        transfers from the same source for the same customer in this run (a second request
        while one is open is refused, so one request carries new-commerce licenses and Azure
        plan subscriptions together)."""
        found = {classify_offer(fresh.offer_id)}
        for other in self.plan.changes:
            same = (other.address.customer_id, other.address.tenant) == (
                c.address.customer_id,
                c.address.tenant,
            )
            if other.action is A.TRANSFER and other.applicable and same:
                found.add(classify_offer(str((other.before or {}).get("offer_id") or "")))
        return frozenset(k for k in found if k is not CommerceModel.UNKNOWN)

    # ------------------------------------------------------------------------------ accept

    def _accept(self, c: actions.Change) -> StepResult:
        """Accept the request on the source with exactly the subscriptions the plan names,
        after re-checking that it is our request, still open, and that each subscription is
        still active in the source with the planned seats; then verify the target side."""
        a = c.address
        sid, source, cid = a.subscription_id or "", a.tenant, a.customer_id
        tid = self._transfer_id(c)
        try:
            current = self.writer.get_transfer(source, cid, tid)
        except errors.NotFound as exc:
            raise Skip(f"transfer {tid} is not visible to {source}") from exc
        if current.lines:
            if not current.names(sid):
                raise Skip(
                    f"transfer {tid} was accepted without {sid}; a request for it can follow "
                    "once that one is over"
                )
            return self._landed(c, tid, f"transfer {tid} was already accepted with {sid}")
        if not current.is_open(self.now()):
            raise Skip(f"transfer {tid} is {current.status.value}; nothing is accepted")
        moving = [self._movable(c), *self._siblings(c)]
        named = " ".join(s.id for s in moving)
        rid = self.new_id()
        self._event(c, Phase.STARTED, request_id=rid, result={"transfer_id": tid, "lines": named})
        self._send_accept(c, tid, moving, rid)
        self._event(c, Phase.SUCCEEDED, request_id=rid, result={"transfer_id": tid, "lines": named})
        return self._landed(c, tid, f"transfer {tid} accepted by {source}")

    def _transfer_id(self, c: actions.Change) -> str:
        """The request to accept: the one this run created, or the one the plan names as long
        as the target still lists it from this source, or the open one it lists."""
        a = c.address
        sid = a.subscription_id or ""
        if sid in self.requested:
            return self.requested[sid]
        known = self.writer.list_transfers(self.plan.target, a.customer_id, a.tenant)
        named = str((c.after or {}).get("transfer_id") or "").lower()
        if named:
            if not any(t.id == named for t in known):
                raise Skip(
                    f"transfer {named} is no request of {self.plan.target} from {a.tenant} "
                    "any more; nothing is accepted (plan again)"
                )
            return named
        found = guards.open_request(known, self.now())
        if found is None:
            raise Skip(f"{self.plan.target} lists no open transfer request from {a.tenant}")
        return found.id

    def _movable(self, c: actions.Change) -> ports.Sub:
        """The source subscription as it is now, if it may still move as planned."""
        a = c.address
        sid = a.subscription_id or ""
        fresh = self._fresh(a.tenant, a.customer_id, sid)
        planned = (c.before or {}).get("quantity")
        if fresh.status is not Status.ACTIVE:
            raise Skip(f"source {sid} is {fresh.status}; only an active one moves")
        if isinstance(planned, int) and fresh.quantity != planned:
            raise Skip(
                f"source {sid} has {fresh.quantity} seats now, the plan moves {planned}; plan again"
            )
        return fresh

    def _siblings(self, c: actions.Change) -> list[ports.Sub]:
        """The other subscriptions the plan moves from the same source for the same customer
        in this run: one acceptance carries every line (a request is accepted once)."""
        found = []
        for other in self.plan.changes:
            same = (other.address.customer_id, other.address.tenant) == (
                c.address.customer_id,
                c.address.tenant,
            )
            if other is c or other.action is not A.ACCEPT or not other.applicable or not same:
                continue
            if any(d in self.ids and d not in self.done for d in other.depends_on):
                continue
            try:
                found.append(self._movable(other))
            except Skip:
                continue  # its own step reports why
        return found

    def _send_accept(
        self, c: actions.Change, tid: str, moving: Sequence[ports.Sub], rid: str
    ) -> None:
        """Accept with the same request id; after a lost answer the transfer is read again
        first, so a request is never accepted twice."""
        a = c.address
        for attempt in range(self.options.same_id_retries + 1):
            try:
                self.writer.accept_transfer(a.tenant, a.customer_id, tid, moving, request_id=rid)
                return
            except errors.OutcomeUnknown:
                try:
                    now = self.writer.get_transfer(a.tenant, a.customer_id, tid)
                except errors.ReconcilerError:
                    now = None
                if now is not None and now.names(a.subscription_id or ""):
                    return  # it was accepted: the answer was lost, not the write
                if attempt >= self.options.same_id_retries:
                    raise

    # ------------------------------------------------------------------------------ verify

    def _landed(self, c: actions.Change, tid: str, what: str) -> StepResult:
        """Wait for the transfer to complete, find the target subscription through the line's
        order, journal it and verify it active with the seats; a mismatch is reported, never
        made up for by buying."""
        a = c.address
        sid = a.subscription_id or ""
        line = self._completed_line(c, tid)
        if isinstance(line, StepResult):
            return line
        target = line.target_subscription_id or self._by_order(a.customer_id, a.key or "", line)
        if target is None:
            return self._unverified(
                c,
                f"{what}; it completed but order {line.order_id} shows no subscription for "
                f"{sid} yet: the next plan looks again",
            )
        result: dict[str, actions.Scalar] = {
            "transfer_id": tid,
            "order_id": line.order_id,
            "target_subscription_id": target,
        }
        self._event(
            c, Phase.SUCCEEDED, subscription_id=target, result=result, reason="target found"
        )
        sub = self._await_active(c, target)
        planned = (c.before or {}).get("quantity")
        want = planned if isinstance(planned, int) else 0
        if sub is None or sub.status is not Status.ACTIVE:
            minutes = int(self.options.activation_timeout.total_seconds() // 60)
            return self._unverified(c, f"{what}; {target} is not active within {minutes} minutes")
        if sub.quantity < want:
            return self._unverified(
                c,
                f"{what}; {target} arrived with {sub.quantity} seats, {sid} had {want}: "
                "reported, nothing is bought to make up for it",
            )
        self.targets[(a.customer_id, a.key or "")] = target
        return StepResult(
            c,
            Outcome.SUCCEEDED,
            f"{what}; {target} is active with {sub.quantity} seats",
            target,
        )

    def _completed_line(self, c: actions.Change, tid: str) -> LiveTransferLine | StepResult:
        a = c.address
        sid = a.subscription_id or ""
        deadline = self.now() + self.options.activation_timeout
        delay = self.options.poll_first
        while True:
            t = self.writer.get_transfer(self.plan.target, a.customer_id, tid)
            line = next((ln for ln in t.lines if ln.source_subscription_id == sid), None)
            if t.status is TransferStatus.COMPLETED and line is not None:
                return line
            if t.status.ended:
                return StepResult(
                    c,
                    Outcome.FAILED,
                    f"transfer {tid} {t.status.value}: {sid} did not move and stays untouched",
                    sid,
                )
            if self.now() >= deadline:
                minutes = int(self.options.activation_timeout.total_seconds() // 60)
                return self._unverified(
                    c,
                    f"transfer {tid} accepted; not completed within {minutes} minutes (Partner "
                    "Center retries for up to 3 days): the next plan verifies it",
                )
            self.sleep(delay)
            delay = min(delay * 2, self.options.poll_max)

    def _by_order(self, customer_id: str, key: str, line: LiveTransferLine) -> str | None:
        """The target subscription the line's order created: the only one, else the only one
        on the line's offer (and seats) not already serving another entry; never a guess."""
        if not line.order_id:
            return None
        subs = self.writer.subscriptions_of_order(self.plan.target, customer_id, line.order_id)
        # Another entry's target is not this one (an Azure plan lands on the customer's Azure
        # plan in the target, which this entry's purchase may have bought in this run).
        taken = {sid for (cid, k), sid in self.targets.items() if (cid, k) != (customer_id, key)}
        free: list[writes.Sub] = [s for s in subs if s.id not in taken]
        if len(free) > 1 and line.offer_id:
            free = [s for s in free if s.offer_id.lower() == line.offer_id.lower()]
        if len(free) > 1 and line.quantity is not None:
            free = [s for s in free if s.quantity == line.quantity]
        return free[0].id if len(free) == 1 else None

    def _unverified(self, c: actions.Change, why: str) -> StepResult:
        """Done as far as apply goes, but the pair is not verified: what depends on it waits."""
        return StepResult(c, Outcome.SUCCEEDED, why, c.address.subscription_id, active=False)
