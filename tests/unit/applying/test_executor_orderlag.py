"""After an order's answer is lost, apply waits out the order list's lag (Partner Center can
take up to 15 minutes to list a new order) before concluding anything, and never re-sends the
order in the same run: found in time, it is used; not found at the bound, the step stops as
"unknown, not sent again" and a later run (after the lag) orders once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from apply_fakes import CUST, T0, FakeClock, FakeSub, FakeWriter, create, plan_of, run
from apply_fakes import source_change as source

from reconciler.applying import journal, steps
from reconciler.planning import actions, markers

A = actions.Action
Out = steps.Outcome
NAME = markers.with_marker("Office E3", "e3")


def _world(clock: FakeClock) -> FakeWriter:
    w = FakeWriter(clock)
    w.add("de", FakeSub("src1", "91FD106F", "Office E3", 10, "active"))
    return w


def _plan() -> actions.Plan:
    return plan_of(create("c1"), source("c2", A.SUSPEND, "src1", 10, ("c1",)))


def _orders(w: FakeWriter) -> int:
    return sum(1 for x in w.writes if x[0] == "order")


def test_a_committed_order_listed_late_is_found_by_waiting_not_ordered_again(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    w = _world(clock)
    w.order_list_lag = timedelta(minutes=10)
    w.subscription_list_lag = timedelta(minutes=10)
    w.faults["order"] = ["unknown-commit", "unknown"]  # committed; the same-id retry lost too
    report = run(_plan(), w, clock, tmp_path)
    assert [s.outcome for s in report.steps] == [Out.SUCCEEDED, Out.SUCCEEDED]
    assert "found by marker after an unknown outcome" in report.steps[0].message
    assert _orders(w) == 1  # one order, found after ~10 minutes of looking
    waited = sum(clock.slept)
    assert 600 <= waited < 900
    assert w.sub("de", "src1").status == "suspended"


def test_nothing_listed_by_the_bound_stops_the_step_unknown_and_sends_nothing(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    w = _world(clock)
    w.faults["order"] = ["unknown", "unknown"]  # never committed
    report = run(_plan(), w, clock, tmp_path)
    created, suspend = report.steps
    assert created.outcome is Out.UNKNOWN and suspend.outcome is Out.SKIPPED
    assert "not listed within 15 minutes" in created.message
    assert "not sent again" in created.message and "next `reconciler apply`" in created.message
    assert _orders(w) == 0 and w.sub("de", "src1").status == "active"
    # Looked with back-off until the bound, the last look at the bound itself.
    assert clock.now() == T0 + timedelta(minutes=15)
    assert max(clock.slept) <= steps.Options().poll_max
    (unknown,) = [e for e in journal.read_records(tmp_path) if e["phase"] == "unknown"]
    assert unknown["step"] == "c1"


def test_the_bound_is_a_setting(tmp_path: Path) -> None:
    clock = FakeClock()
    w = _world(clock)
    w.faults["order"] = ["unknown", "unknown"]
    report = run(_plan(), w, clock, tmp_path, lag_minutes=2)
    assert report.steps[0].outcome is Out.UNKNOWN
    assert "not listed within 2 minutes" in report.steps[0].message
    assert clock.now() == T0 + timedelta(minutes=2)


def test_an_earlier_runs_recent_order_is_waited_for_then_found(tmp_path: Path) -> None:
    clock = FakeClock()
    w = _world(clock)
    w.order_list_lag = timedelta(minutes=15)
    w.orders[("target", CUST)] = [("o-earlier", NAME)]
    w.ordered_at["o-earlier"] = T0 - timedelta(minutes=5)  # listed at T0 + 10 min
    sent = T0 - timedelta(minutes=5)
    pending = {(CUST, "e3"): journal.Pending(CUST, "e3", NAME, "rid-0", "run-0", sent)}
    report = run(plan_of(create("c1")), w, clock, tmp_path, pending=pending, timeout_minutes=1)
    assert _orders(w) == 0
    assert "already ordered by an earlier run" in report.steps[0].message
    assert T0 + timedelta(minutes=10) <= clock.now()


def test_an_earlier_runs_recent_order_never_listed_is_not_sent_again(tmp_path: Path) -> None:
    clock = FakeClock()
    w = _world(clock)
    sent = T0 - timedelta(minutes=5)
    pending = {(CUST, "e3"): journal.Pending(CUST, "e3", NAME, "rid-0", "run-0", sent)}
    report = run(plan_of(create("c1")), w, clock, tmp_path, pending=pending)
    assert report.steps[0].outcome is Out.UNKNOWN and _orders(w) == 0
    assert clock.now() == T0 + timedelta(minutes=10)  # the rest of that order's lag


def test_an_earlier_runs_order_past_the_lag_is_looked_for_once_then_ordered(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    w = _world(clock)
    sent = T0 - timedelta(minutes=20)
    pending = {(CUST, "e3"): journal.Pending(CUST, "e3", NAME, "rid-0", "run-0", sent)}
    report = run(plan_of(create("c1")), w, clock, tmp_path, pending=pending)
    assert report.steps[0].outcome is Out.SUCCEEDED and _orders(w) == 1
    (target,) = w.subs[("target", CUST)].values()
    assert target.history[0] == (T0, "pending")  # ordered at once, without waiting


def test_pending_creates_carry_the_time_of_the_last_send(tmp_path: Path) -> None:
    clock = FakeClock()
    w = _world(clock)
    w.faults["order"] = ["unknown", "unknown"]
    run(plan_of(create("c1")), w, clock, tmp_path)
    (pending,) = journal.pending_creates(journal.read_records(tmp_path)).values()
    assert pending.sent_at == T0  # the started line, not the later "unknown" one
