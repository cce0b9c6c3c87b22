"""Findings of the adversarial safety review of apply: each test shows a way a rule could be
broken, and that it no longer is."""

from __future__ import annotations

from pathlib import Path

from apply_fakes import CUST, FakeClock, FakeSub, FakeWriter, plan_of, run, source_change

from reconciler.applying import executor
from reconciler.planning import actions, markers

A = actions.Action
Out = executor.Outcome


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
