"""The apply use case: carry out a saved plan (or one made now) safely, once.

In order: load the saved plan (or the manifests), refuse a plan applied before, connect, take
the target tenant's lock (waiting up to the timeout), check the saved plan against fresh live
state (or plan afresh), check the policy caps, ask for approval (a callback: the command
prompts), run the executor with a journal while the lock's TTL is extended step by step, mark
the plan applied and read live state again for the verification. It returns an
``ApplyResult`` the command renders. Decisions live in ``applying`` and ``planning``; this
module wires them and must NOT print, prompt or read the environment.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import errors, manifests, model, settings
from reconciler.applying import (
    blobconfig,
    blobstate,
    checks,
    executor,
    journal,
    locking,
    ports,
    steps,
    verify,
)
from reconciler.operations import live, planfiles, statedir
from reconciler.planning import actions, planner, staleness

if TYPE_CHECKING:
    from reconciler.partner_center.client import PartnerCenterClient


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    """What to apply: ``paths`` is one saved plan (``.json``) or manifest files/directories;
    ``manifests`` the manifests of a saved plan (default ``manifests/``)."""

    paths: Sequence[Path]
    access: live.Access
    state_dir: Path
    manifests: Path | None = None
    customers: Sequence[str] = ()
    lock_timeout: float = 0.0
    #: The shared state backend (lock lease, journal and applied plans in a blob container),
    #: or None for local state only.
    shared: blobconfig.Config | None = None
    #: Customers applied at once (``--parallelism``; 1: one change at a time, in plan order).
    parallelism: int = settings.DEFAULT_APPLY_PARALLELISM


@dataclass(frozen=True, slots=True)
class Hooks:
    """The command's part: approve (raise ``ApplyRefusedError`` to refuse), hear about a
    lock held by another apply, the run's start and each step (``done`` of ``total``)."""

    approve: Callable[[actions.Plan], None]
    waiting: Callable[[locking.LockInfo], None] = lambda held: None
    #: (plan id, run id, where the journal is: the local file, and the blob when shared)
    started: Callable[[str, str, str], None] = lambda plan_id, run_id, journal: None
    step: Callable[[steps.StepResult, int, int], None] = lambda result, done, total: None
    #: Right before the first write: how many applicable changes each stage has.
    stages: Callable[[Mapping[steps.Stage, int]], None] = lambda totals: None
    #: While the writes run: customers in flight and how many of them wait (from workers).
    activity: Callable[[steps.Activity], None] = lambda now: None
    #: The writes have ended (before the verification read), whatever their outcome.
    written: Callable[[], None] = lambda: None


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What an apply did. ``report`` is ``None`` when nothing was applicable (no approval was
    asked, nothing written); ``verification`` is the state per customer read afterwards,
    or ``verification_error`` why that read failed."""

    plan: actions.Plan
    report: steps.ApplyReport | None = None
    verification: Sequence[verify.CustomerState] = ()
    verification_error: str | None = None
    overlap: Sequence[str] = field(default_factory=tuple)


def load(
    paths: Sequence[Path], manifests_dir: Path | None
) -> tuple[actions.Plan | None, model.DesiredState]:
    """The saved plan (when ``paths`` is one ``.json`` or ``.gz`` file) and the desired state."""
    given = list(paths)
    if len(given) == 1 and given[0].is_file() and given[0].suffix in planfiles.SUFFIXES:
        saved = planfiles.read_plan(given[0])
        state = manifests.load([manifests_dir or Path("manifests")])
        if saved.consolidation != state.consolidation.name:
            raise errors.ApplyRefusedError(
                f"The plan {given[0]} is for consolidation '{saved.consolidation}' but the "
                f"manifests describe '{state.consolidation.name}'; pass the right --manifests."
            )
        return saved, state
    return None, manifests.load(given or [manifests_dir or Path("manifests")])


def refuse_twice(
    state_dir: Path, saved: actions.Plan, store: blobstate.Store | None = None
) -> None:
    """A saved plan is applied at most once: its id is recorded when a run ends (in the state
    directory, and in the shared state container when there is one)."""
    pid = journal.plan_id(saved)
    earlier = journal.applied_run(state_dir, pid) or (
        store.applied_run(pid) if store is not None else None
    )
    if earlier:
        raise errors.ApplyRefusedError(
            f"This plan ({journal.plan_id(saved)}) was already applied by run {earlier}. "
            "Applying it twice is refused: run `reconciler plan --out FILE` for a fresh "
            "plan and apply that."
        )


def apply(request: ApplyRequest, observer: live.Observer, hooks: Hooks) -> ApplyResult:
    """The whole of ``reconciler apply``."""
    from reconciler.partner_center import writer as pc_writer

    saved, desired = load(request.paths, request.manifests)
    # The shared container is checked before any sign-in: a wrong key fails in a second.
    store = blobstate.Store.open(request.shared) if request.shared is not None else None
    if saved is not None:
        refuse_twice(request.state_dir, saved, store)
    else:  # a --customer that names nobody is refused before any sign-in or read
        planner.select_customers(desired, include=request.customers)
    cons = desired.consolidation
    clients = live.connect_all(cons, request.access, observer)
    run = _Run(
        request,
        desired,
        clients,
        pc_writer.ClientWriter(clients, cons.tenants),
        observer,
        hooks,
        store,
    )
    return run.locked(saved)


@dataclass
class _Run:
    request: ApplyRequest
    desired: model.DesiredState
    clients: dict[str, PartnerCenterClient]
    writer: ports.Writer
    observer: live.Observer
    hooks: Hooks
    store: blobstate.Store | None = None

    def read(self, plan_customers: Sequence[tuple[str, str]], what: str) -> model.LiveState:
        return live.read_customers(
            self.desired, self.clients, plan_customers, self.observer, what=what
        )

    def locked(self, saved: actions.Plan | None) -> ApplyResult:
        """Take the target tenant's lock, plan (or check the saved plan), then execute."""
        # One lock per target tenant *id* in the machine's lock directory: two applies with
        # different state directories (or manifests naming the tenant differently) still
        # exclude each other.
        me = locking.holder(
            tenant=self.desired.consolidation.target.tenant_id,
            plan_id=journal.plan_id(saved) if saved is not None else "fresh",
            now=_now(),
            ttl=locking.DEFAULT_TTL,
            environ=self.request.access.environ,
        )
        lock = locking.acquire(
            statedir.lock_dir(self.request.access.environ),
            me,
            timeout=self.request.lock_timeout,
            now=_now,
            sleep=time.sleep,
            on_wait=self.hooks.waiting,
        )
        with lock, self.shared_lock(me) as shared:
            return self.execute(self.plan(saved), lock, shared)

    def shared_lock(self, me: locking.LockInfo) -> contextlib.AbstractContextManager[Any]:
        """The target tenant's lease in the shared state container (after the machine's
        lock: two working copies on one machine wait there first, harmlessly)."""
        if self.store is None:
            return contextlib.nullcontext()
        return blobstate.acquire(
            self.store,
            replace(me, ci_url=locking.ci_job_url(self.request.access.environ)),
            timeout=self.request.lock_timeout,
            now=_now,
            sleep=time.sleep,
            on_wait=self.hooks.waiting,
        )

    def plan(self, saved: actions.Plan | None) -> actions.Plan:
        customers = self.request.customers
        if saved is not None:
            plan = checks.narrow(saved, customers)
            checks.check_manifests(plan, self.desired)
            fresh_live = self.read(_pairs(plan), "Re-checking")
            _stale(plan, fresh_live)
            # Re-derive: carry out only what a plan made now would also do.
            ids = tuple(c.tenant_id for c in plan.customers)
            fresh = planner.build_plan(self.desired, fresh_live, now=_now(), include=ids)
            checks.check_rederived(plan, fresh)
            return plan
        chosen = planner.select_customers(self.desired, include=customers)
        if customers and not chosen:
            raise errors.UsageError(
                f"--customer {', '.join(customers)}: no manifest customer has that tenant id "
                "or name."
            )
        live_state = self.read(live.pairs(chosen), "Reading")
        return planner.build_plan(self.desired, live_state, now=_now(), include=customers)

    def execute(
        self, plan: actions.Plan, lock: locking.Lock, shared: blobstate.BlobLock | None
    ) -> ApplyResult:
        policy = self.desired.consolidation.policy
        checks.check_caps(plan, policy)
        if not plan.has_applicable_changes:
            return ApplyResult(plan)
        self.hooks.approve(plan)
        # The prompt may have outlived the lock's TTL; one step may wait a whole activation.
        activation = timedelta(minutes=policy.activation_timeout_minutes)
        # An order with a lost answer is looked for up to the order list's lag (then stops).
        lag = timedelta(seconds=self.clients[self.desired.consolidation.target.name].order_list_lag)
        ttl = locking.DEFAULT_TTL + activation + lag
        locking.extend(lock, now=_now(), ttl=ttl)
        if shared is not None:
            shared.check()
        state, pid = self.request.state_dir, journal.plan_id(plan)
        run_id = _now().strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
        records = journal.read_records(state)
        mirror, where = None, ""
        if self.store is not None and shared is not None:
            # Recovery sees every runner's unknown outcomes, not only this machine's.
            target = self.desired.consolidation.target.tenant_id
            records = journal.merge(self.store.read_records(target), records)
            blob = self.store.run_journal(target, run_id)
            mirror, where = _mirror(shared, blob), f" and {self.store.shown}/{blob.name}"
            shared.note_run(run_id)
        log = journal.Journal(state, run_id, pid, mirror=mirror)
        applicable = [c for c in plan.changes if c.applicable]
        total = len(applicable)
        done = [0]

        def step(r: steps.StepResult) -> None:
            done[0] += 1
            self.hooks.step(r, done[0], total)
            locking.extend(lock, now=_now(), ttl=ttl)
            if shared is not None:
                shared.check()

        self.hooks.started(pid, run_id, f"{log.path}{where}")
        self.hooks.stages(steps.stage_totals(applicable))
        try:
            report = executor.Executor(
                plan,
                self.writer,
                log,
                options=steps.Options(
                    activation_timeout=activation,
                    parallelism=self.request.parallelism,
                    order_list_lag=lag,
                ),
                now=_now,
                sleep=time.sleep,
                pending=journal.pending_creates(records),
                transfers=journal.requested_transfers(records),
                on_step=step,
                on_activity=self.hooks.activity,
            ).run()
        finally:
            self.hooks.written()
            log.close()
        journal.mark_applied(state, pid, run_id, _now())
        if self.store is not None:
            self.store.mark_applied(pid, run_id, _now())
        return self.verified(plan, report)

    def verified(self, plan: actions.Plan, report: steps.ApplyReport) -> ApplyResult:
        """The result with a fresh read of every customer of the plan (its failure is
        reported, not raised: the writes are done and journalled)."""
        overlap = verify.overlap_lines(report.steps)
        ids = {c.tenant_id for c in plan.customers}
        try:
            after = self.read(_pairs(plan), "Verifying")
        except errors.ReconcilerError as exc:
            return ApplyResult(plan, report, verification_error=str(exc), overlap=overlap)
        states = verify.states(self.desired, after, ids)
        return ApplyResult(plan, report, verification=states, overlap=overlap)


def _mirror(shared: blobstate.BlobLock, blob: blobstate.BlobJournal) -> Callable[[bytes], None]:
    """Each journal line goes to the run's blob first, and only while the lease is held: a
    lost lease stops the run before the write the line announces."""

    def mirror(line: bytes) -> None:
        shared.check()
        blob.append(line)

    return mirror


def _stale(plan: actions.Plan, live_state: model.LiveState) -> None:
    stale = staleness.stale_message(plan, live_state)
    if stale is not None:
        message, moved = stale
        raise errors.StalePlanError(message, customers=moved)


def _pairs(plan: actions.Plan) -> list[tuple[str, str]]:
    """(tenant id, source name) for every source tenant each customer of ``plan`` was read in
    (a customer held in several is read in each), as ``live.read_customers`` wants them."""
    return [(c.tenant_id, source) for c in plan.customers for source in c.source_tenants]
