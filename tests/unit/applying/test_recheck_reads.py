"""Re-check reads: one fresh read per customer and tenant before its writes, not one per write,
yet every rule still judged on state read after the last write of ours that could change it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from apply_fakes import (
    CUST,
    FakeClock,
    FakeSub,
    FakeWriter,
    addr,
    create,
    plan_of,
    run,
    source_change,
)

from reconciler.applying import ports, steps
from reconciler.planning import actions

A = actions.Action


class CountingWriter(FakeWriter):
    """Counts the reads per (kind, tenant)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.reads: Counter[tuple[str, str]] = Counter()

    def get_subscription(self, tenant: str, customer_id: str, subscription_id: str) -> ports.Sub:
        self.reads[("get", tenant)] += 1
        return super().get_subscription(tenant, customer_id, subscription_id)

    def list_subscriptions(self, tenant: str, customer_id: str) -> Sequence[ports.Sub]:
        self.reads[("list", tenant)] += 1
        return super().list_subscriptions(tenant, customer_id)


def _resize(cid: str, sid: str, quantity: int) -> actions.Change:
    return actions.Change(
        cid,
        A.RESIZE,
        addr("target", sid),
        actions.Reason.REPLACED,
        "more seats",
        before={"quantity": 4},
        after={"quantity": quantity},
    )


def test_suspensions_after_a_create_read_no_target_again(tmp_path: Path) -> None:
    clock = FakeClock()
    writer = CountingWriter(clock)
    writer.new_activation_polls = 1  # pending at the first poll, active at the second
    writer.add("de", FakeSub("src1", "91FD106F", "Office E3", 4, "active"))
    writer.add("de", FakeSub("src2", "91FD106F", "Office E3", 6, "active"))
    plan = plan_of(
        create("c1", quantity=10),
        source_change("c2", A.SUSPEND, "src1", 4, ("c1",)),
        source_change("c3", A.SUSPEND, "src2", 6, ("c1",)),
    )
    report = run(plan, writer, clock, tmp_path)
    assert report.clean, [s.message for s in report.steps]
    # Target: one list (the marker search before the order) and the activation polls; the
    # two rule-one checks use the poll's answer, read after the order.
    assert writer.reads[("list", "target")] == 1
    assert writer.reads[("get", "target")] == 2
    # Source: one read per subscription, right before its own write.
    assert writer.reads[("get", "de")] == 2
    assert [s.status for s in writer.subs[("de", plan.customers[0].tenant_id)].values()] == [
        "suspended",
        "suspended",
    ]


def test_rule_one_uses_the_answer_of_our_own_resize(tmp_path: Path) -> None:
    clock = FakeClock()
    writer = CountingWriter(clock)
    writer.add("target", FakeSub("t1", "CFQ", "Office E3 [rc:e3]", 4, "active"))
    writer.add("de", FakeSub("src1", "91FD106F", "Office E3", 10, "active"))
    plan = plan_of(_resize("c1", "t1", 10), source_change("c2", A.SUSPEND, "src1", 10, ("c1",)))
    report = run(plan, writer, clock, tmp_path)
    assert report.clean, [s.message for s in report.steps]
    # The resize read t1 once before writing; the suspension judged the PATCH's answer
    # (10 seats, read after the write), not the 4 seats read before it.
    assert writer.reads[("get", "target")] == 1
    assert writer.sub("de", "src1").status == "suspended"


def test_after_an_unknown_outcome_the_target_is_read_again(tmp_path: Path) -> None:
    clock = FakeClock()
    writer = CountingWriter(clock)
    writer.add("target", FakeSub("t1", "CFQ", "Office E3 [rc:e3]", 4, "active"))
    writer.add("de", FakeSub("src1", "91FD106F", "Office E3", 10, "active"))
    # The resize lands but its answer is lost, twice: its outcome stays unknown.
    writer.faults["update"] = ["unknown-commit", "unknown"]
    plan = plan_of(_resize("c1", "t1", 10), source_change("c2", A.SUSPEND, "src1", 10))
    report = run(plan, writer, clock, tmp_path)
    outcomes = [s.outcome for s in report.steps]
    assert outcomes == [steps.Outcome.UNKNOWN, steps.Outcome.SUCCEEDED]
    # The suspension did not trust the 4 seats read before the resize: it read t1 again
    # (10 seats now) and went ahead.
    assert writer.reads[("get", "target")] == 2
    assert writer.sub("de", "src1").status == "suspended"


def test_a_source_is_judged_on_state_read_after_the_previous_suspension(tmp_path: Path) -> None:
    """Suspending a base can suspend its add-ons: a source is read after the customer's
    previous status change in that tenant, so an add-on already suspended gets no PATCH."""
    clock = FakeClock()
    writer = CountingWriter(clock)
    writer.add("target", FakeSub("t1", "CFQ", "Office E3 [rc:e3]", 10, "active"))
    writer.add("de", FakeSub("src1", "91FD106F", "Office E3", 4, "active"))
    writer.add("de", FakeSub("src2", "91FD106F", "Office E3", 6, "active"))
    real_update = writer.update

    def cascading(*args: object, **kwargs: object) -> ports.Sub:
        sub = real_update(*args, **kwargs)  # type: ignore[arg-type]
        if sub.id == "src1":
            writer.sub("de", "src2").status = "suspended"  # an add-on follows its base
        return sub

    writer.update = cascading  # type: ignore[method-assign]
    plan = plan_of(
        source_change("c1", A.SUSPEND, "src1", 4),
        source_change("c2", A.SUSPEND, "src2", 6),
    )
    report = run(plan, writer, clock, tmp_path)
    assert report.steps[1].message == "already suspended"
    assert [w[2] for w in writer.writes] == ["src1"]  # no second PATCH
    # The target was listed once (its marker found), for the rule-one check; src2 is read
    # after src1's suspension.
    assert writer.reads[("list", "target")] == 1 and writer.reads[("get", "target")] == 0
    assert writer.reads[("get", "de")] == 2


def test_later_orders_are_first_read_when_this_runs_orders_were_seen_active(
    tmp_path: Path,
) -> None:
    """The first order is read right after its answer, then with back-off (0, 2 and 6 s):
    active at the third read. Later orders of the run wait those 6 s before their first read,
    so an order provisioning as fast costs one read, and each is still confirmed active by a
    read before its source is touched."""
    clock = FakeClock()
    writer = CountingWriter(clock)
    writer.provisioning = timedelta(seconds=5)
    writer.add("de", FakeSub("src1", "91FD106F", "Office E3", 4, "active"))
    writer.add("de", FakeSub("src2", "91FD106F", "Visio", 2, "active"))
    plan = plan_of(
        create("c1", key="e3", quantity=4),
        create("c2", key="visio", quantity=2),
        source_change("c3", A.SUSPEND, "src1", 4, ("c1",)),
        replace_key(source_change("c4", A.SUSPEND, "src2", 2, ("c2",)), "visio"),
    )
    report = run(plan, writer, clock, tmp_path)
    assert report.clean, [s.message for s in report.steps]
    assert clock.slept == [2, 4, 6]
    assert writer.reads[("get", "target")] == 4  # three for the first order, one for the next
    activated = _times(writer, "target", "active")
    stopped = _times(writer, "de", "suspended")
    assert len(activated) == 2 and len(stopped) == 2
    assert max(activated) <= min(stopped)


def test_an_order_slower_than_the_runs_first_is_still_awaited(tmp_path: Path) -> None:
    """The wait learnt from the first order only sets when the next is first read: one that
    takes longer is read again with back-off until active, and its source waits for it."""
    clock = FakeClock()
    writer = CountingWriter(clock)
    writer.provisioning = timedelta(seconds=5)
    writer.add("de", FakeSub("src2", "91FD106F", "Visio", 2, "active"))
    real_order = writer.order

    def slower_second(*args: object, **kwargs: object) -> ports.Ordered:
        if writer.orders:
            writer.provisioning = timedelta(seconds=11)
        return real_order(*args, **kwargs)  # type: ignore[arg-type]

    writer.order = slower_second  # type: ignore[method-assign]
    plan = plan_of(
        create("c1", key="e3", quantity=4),
        create("c2", key="visio", quantity=2),
        replace_key(source_change("c4", A.SUSPEND, "src2", 2, ("c2",)), "visio"),
    )
    report = run(plan, writer, clock, tmp_path)
    assert report.clean, [s.message for s in report.steps]
    # First order: reads at 0, 2 and 6 s. Second: first read 6 s after it (pending), then
    # 2 and 4 s later (pending at 8, active at 12).
    assert clock.slept == [2, 4, 6, 2, 4]
    second = writer.subs[("target", plan.customers[0].tenant_id)]["s0002"]
    suspended = [t for t, status in writer.sub("de", "src2").history if status == "suspended"]
    assert second.history[-1][1] == "active" and suspended
    assert second.history[-1][0] <= suspended[0]


def _times(writer: FakeWriter, tenant: str, status: str) -> list[datetime]:
    """When each of the customer's subscriptions in ``tenant`` turned ``status``."""
    subs = writer.subs[(tenant, CUST)].values()
    return [t for s in subs for t, seen in s.history if seen == status]


def replace_key(change: actions.Change, key: str) -> actions.Change:
    return replace(change, address=replace(change.address, key=key))
