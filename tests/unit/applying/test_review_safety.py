"""Findings of the adversarial safety review of apply: each test shows a way a rule could be
broken, and that it no longer is."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from unittest.mock import ANY

import pytest
from apply_fakes import CUST, FakeClock, FakeSub, FakeWriter, create, plan_of, run, source_change

from reconciler import errors, model
from reconciler.applying import checks, journal, locking, ports, steps
from reconciler.planning import actions, markers

A = actions.Action
Out = steps.Outcome


def _target_noop(sid: str = "t1") -> actions.Change:
    return actions.Change(
        "n1",
        A.NOOP,
        actions.Address("target", CUST, "Contoso", sid, "e3"),
        actions.Reason.IN_SYNC,
        "",
    )


def test_rule_one_counts_a_sibling_source_suspended_by_an_earlier_run(tmp_path: Path) -> None:
    """Entry e3 replaces src0 (10 seats, suspended by an earlier run) and src1 (5 seats). The
    plan needed 15 seats on t1; t1 was cut to 8 before the write: src1 must stay untouched,
    since t1 cannot serve the 15 users of both."""
    clock = FakeClock()
    w = FakeWriter(clock)
    w.add("de", FakeSub("src0", "91FD106F", "E3 old", 10, "suspended"))
    w.add("de", FakeSub("src1", "91FD106F", "E3", 5, "active"))
    w.add("target", FakeSub("t1", "X", markers.with_marker("E3", "e3"), 8, "active"))
    done = actions.Change(
        "n0",
        A.NOOP,
        actions.Address("de", CUST, "Contoso", "src0", "e3"),
        actions.Reason.ALREADY_DONE,
        "already suspended",
        before={"subscription_id": "src0", "quantity": 10, "status": "suspended"},
        strategy="suspend",
    )
    plan = plan_of(_target_noop(), done, source_change("c2", A.SUSPEND, "src1", 5))
    report = run(plan, w, clock, tmp_path)
    (step,) = report.steps
    assert step.outcome is Out.SKIPPED
    assert "8 seats, fewer than the 15" in step.message
    assert w.sub("de", "src1").status == "active"


def _desired(*, protect: bool = False, replaces: tuple[str, ...] = ("src1",)) -> model.DesiredState:
    origin = model.Origin("customers/contoso.yaml", 1)
    ds = model.DesiredSubscription(
        key="e3",
        offer_id="CFQ7TTC0LH18:0001:CFQ7TTC0K971",
        commerce=model.CommerceModel.NCE_LICENSE,
        quantity=10,
        billing_cycle="monthly",
        term_duration="P1Y",
        friendly_name=None,
        replaces=tuple(
            model.Replacement(sid, model.SourceStrategy.AUTO, origin) for sid in replaces
        ),
        protect=protect,
        origin=origin,
    )
    customer = model.DesiredCustomer(
        CUST, "Contoso", "contoso.example", "de", False, (ds,), (), origin
    )
    return model.DesiredState(consolidation=None, customers=(customer,))  # type: ignore[arg-type]


def test_a_saved_plan_is_refused_when_the_manifests_now_protect_its_source() -> None:
    """Rule 6: ``protect: true`` added after the plan was saved (the "stop!" edit) must hold
    the suspension; the saved plan predates it."""
    plan = plan_of(create("c1"), source_change("c2", A.SUSPEND, "src1", 10, ("c1",)))
    checks.check_manifests(plan, _desired())
    with pytest.raises(errors.ApplyRefusedError, match=r"src1 \('e3'\) is now protected"):
        checks.check_manifests(plan, _desired(protect=True))
    with pytest.raises(errors.ApplyRefusedError, match="no longer replaces src1"):
        checks.check_manifests(plan, _desired(replaces=("other",)))
    gone = model.DesiredState(consolidation=None, customers=())  # type: ignore[arg-type]
    with pytest.raises(errors.ApplyRefusedError, match="no longer in the manifests"):
        checks.check_manifests(plan, gone)
    # A create still happens under protect (docs/plan-format.md, "Protect").
    checks.check_manifests(plan_of(create("c1")), _desired(protect=True))


class _SlowOrderWriter(FakeWriter):
    """Partner Center answers the first order with 409 "order in progress" (800060): the
    order exists but is listed (by marker or in the orders) only some reads later."""

    def __init__(self, clock: FakeClock, hidden_reads: int) -> None:
        super().__init__(clock)
        self.hidden: list[tuple[str, FakeSub]] = []
        self.hidden_reads = hidden_reads

    def order(
        self, tenant: str, customer_id: str, spec: ports.OrderSpec, *, request_id: str
    ) -> ports.Ordered:
        first = next((x for x in self.writes if x[0] == "order"), None)
        if first is None:
            self.writes.append(("order", tenant, "in-progress", request_id))
            sub = FakeSub("s-slow", spec.offer_id, spec.friendly_name, spec.quantity, "active")
            self.hidden.append((tenant, sub))
        if first is None or (first[3] == request_id and self.hidden):
            raise errors.OrderInProgress("409 800060 order in progress")
        return super().order(tenant, customer_id, spec, request_id=request_id)

    def list_subscriptions(self, tenant: str, customer_id: str) -> Sequence[ports.Sub]:
        self.hidden_reads -= 1
        if self.hidden_reads < 0:
            for t, sub in self.hidden:
                self.add(t, sub)
            self.hidden.clear()
        return super().list_subscriptions(tenant, customer_id)


def test_an_order_in_progress_is_waited_for_not_sent_again(tmp_path: Path) -> None:
    """Rule 2: a 409 "order in progress" proves an order is being processed; ordering anew
    when it is not listed yet would bill the customer twice once it completes."""
    clock = FakeClock()
    w = _SlowOrderWriter(clock, hidden_reads=3)
    report = run(plan_of(create("c1")), w, clock, tmp_path)
    assert [x for x in w.writes if x[0] == "order"] == [("order", "target", "in-progress", ANY)]
    assert report.steps[0].outcome is Out.SUCCEEDED and report.steps[0].subscription_id == "s-slow"


def test_an_order_in_progress_never_listed_stays_unknown(tmp_path: Path) -> None:
    clock = FakeClock()
    w = _SlowOrderWriter(clock, hidden_reads=10_000)
    report = run(plan_of(create("c1")), w, clock, tmp_path, timeout_minutes=5)
    assert len([x for x in w.writes if x[0] == "order"]) == 1
    assert report.steps[0].outcome is Out.UNKNOWN
    assert (CUST, "e3") in journal.pending_creates(journal.read_records(tmp_path))


def test_a_run_whose_lock_was_taken_over_stops_instead_of_writing_on(tmp_path: Path) -> None:
    """Two applies must never write at once (rule 2's duplicate orders): a run that sat past
    its lock's expiry (at the approval prompt, or waiting for an activation) and lost the lock
    to another apply must learn so at its next extension, not carry on beside it."""
    clock = FakeClock()
    me = locking.holder(
        tenant="target", plan_id="p1", now=clock.now(), ttl=timedelta(hours=1), environ={}
    )
    first = locking.acquire(tmp_path, me, timeout=0, now=clock.now, sleep=clock.sleep)
    clock.t += timedelta(hours=2)
    other = locking.holder(
        tenant="target", plan_id="p2", now=clock.now(), ttl=timedelta(hours=1), environ={}
    )
    second = locking.acquire(tmp_path, other, timeout=0, now=clock.now, sleep=clock.sleep)
    with pytest.raises(errors.LockHeldError, match="taken over"):
        locking.extend(first, now=clock.now(), ttl=timedelta(hours=1))
    assert locking._read(second.path) == second.info  # the other run keeps its lock


def test_a_pending_order_is_found_under_the_name_it_was_ordered_with(tmp_path: Path) -> None:
    """Rule 2: a run crashed after ordering "Office E3 [rc:e3]"; before the next run the
    manifest's friendly name changed. The order is listed, its subscription not yet: it must
    be found under the journalled name, not ordered again under the new one."""
    clock = FakeClock()
    w = FakeWriter(clock)
    old = markers.with_marker("Office E3", "e3")
    w.orders[("target", CUST)] = [("o-earlier", old)]
    pending = {(CUST, "e3"): journal.Pending(CUST, "e3", old, "rid-0", "run-0")}
    renamed = create("c1")
    renamed = dataclasses.replace(
        renamed,
        after={**(renamed.after or {}), "friendly_name": markers.with_marker("M365 E3", "e3")},
    )
    report = run(plan_of(renamed), w, clock, tmp_path, pending=pending, timeout_minutes=1)
    assert [x for x in w.writes if x[0] == "order"] == []
    assert report.steps[0].outcome is Out.SUCCEEDED
