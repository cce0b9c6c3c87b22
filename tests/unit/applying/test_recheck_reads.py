"""Re-check reads: one fresh read per customer and tenant before its writes, not one per write,
yet every rule still judged on state read after the last write of ours that could change it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from apply_fakes import (
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
