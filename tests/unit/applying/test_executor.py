"""The executor against an in-memory Partner Center: order, wait, then suspend; every rule
re-checked right before its write; unknown outcomes never become duplicate orders."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from apply_fakes import (
    CUST,
    FakeClock,
    FakeSub,
    FakeWriter,
    create,
    plan_of,
    run,
    source_change,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.applying import executor, journal, steps
from reconciler.planning import actions, markers

A = actions.Action
Out = steps.Outcome


def world(clock: FakeClock, *, source_qty: int = 10) -> FakeWriter:
    w = FakeWriter(clock)
    w.add("de", FakeSub("src1", "91FD106F", "Office E3", source_qty, "active"))
    return w


def replace_plan(quantity: int = 10) -> actions.Plan:
    return plan_of(
        create("c1", quantity=quantity), source_change("c2", A.SUSPEND, "src1", 10, ("c1",))
    )


def marked(w: FakeWriter, key: str = "e3") -> list[FakeSub]:
    return [
        s
        for s in w.subs.get(("target", CUST), {}).values()
        if markers.parse_marker(s.friendly_name) == key
    ]


def test_orders_the_target_waits_until_active_then_suspends_the_source(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    w.new_activation_polls = 3
    report = run(replace_plan(), w, clock, tmp_path)
    assert [s.outcome for s in report.steps] == [Out.SUCCEEDED, Out.SUCCEEDED]
    (target,) = marked(w)
    assert target.status == "active" and target.quantity == 10
    assert w.sub("de", "src1").status == "suspended"
    # The suspension came after the activation, on the same run.
    assert target.history[-1][0] <= w.sub("de", "src1").history[-1][0]
    assert clock.slept, "the executor polled with back-off while the order provisioned"


def test_target_not_active_in_time_leaves_the_source_billing(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    w.new_activation_polls = None  # never activates
    report = run(replace_plan(), w, clock, tmp_path, timeout_minutes=10)
    created, suspend = report.steps
    assert created.outcome is Out.SUCCEEDED and not created.active
    assert "not active within 10 minutes" in created.message
    assert suspend.outcome is Out.SKIPPED
    assert w.sub("de", "src1").status == "active"
    assert sum(clock.slept) >= 600
    assert not report.clean


def test_suspension_is_skipped_when_the_target_has_fewer_seats_than_the_source(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    w = world(clock, source_qty=12)  # the source grew since planning
    report = run(replace_plan(quantity=10), w, clock, tmp_path)
    assert report.steps[1].outcome is Out.SKIPPED
    assert "10 seats, fewer than the 12" in report.steps[1].message
    assert w.sub("de", "src1").status == "active"
    assert [x for x in w.writes if x[0] == "update"] == []


def test_suspension_of_an_existing_target_pair_rechecks_the_live_target(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    w.add("target", FakeSub("t1", "X", markers.with_marker("E3", "e3"), 10, "suspended"))
    noop = actions.Change(
        "n1",
        A.NOOP,
        actions.Address("target", CUST, "Contoso", "t1", "e3"),
        actions.Reason.IN_SYNC,
        "",
    )
    report = run(plan_of(noop, source_change("c2", A.SUSPEND, "src1", 10)), w, clock, tmp_path)
    (step,) = report.steps
    assert step.outcome is Out.SKIPPED and "t1 is suspended, not active" in step.message
    assert w.sub("de", "src1").status == "active"


def test_an_already_suspended_source_is_not_written_again(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    w.sub("de", "src1").status = "suspended"
    w.add("target", FakeSub("t1", "X", markers.with_marker("E3", "e3"), 10, "active"))
    report = run(plan_of(source_change("c2", A.SUSPEND, "src1", 10)), w, clock, tmp_path)
    assert (
        report.steps[0].outcome is Out.SUCCEEDED and "already suspended" in report.steps[0].message
    )
    assert w.writes == []


def test_a_rejected_order_skips_its_dependants(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    w.faults["order"] = ["reject"]
    report = run(replace_plan(), w, clock, tmp_path)
    assert [s.outcome for s in report.steps] == [Out.FAILED, Out.SKIPPED]
    assert "depends on c1" in report.steps[1].message
    assert w.sub("de", "src1").status == "active"


def test_unknown_outcome_that_committed_is_found_by_marker_not_reordered(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    w.faults["order"] = ["unknown-commit", "unknown"]
    report = run(replace_plan(), w, clock, tmp_path)
    assert len(marked(w)) == 1
    assert "found by marker" in report.steps[0].message
    assert w.sub("de", "src1").status == "suspended"


def test_unknown_outcome_with_nothing_found_is_not_sent_again_in_the_run(tmp_path: Path) -> None:
    """Nothing listed after a lost answer proves nothing until the order list's lag has
    passed (tests/unit/applying/test_executor_orderlag.py): the step stops as unknown, and
    the next run, started after the lag, orders once."""
    clock = FakeClock()
    w = world(clock)
    w.faults["order"] = ["unknown", "unknown"]
    first = run(replace_plan(), w, clock, tmp_path)
    assert [s.outcome for s in first.steps] == [Out.UNKNOWN, Out.SKIPPED]
    assert "not sent again" in first.steps[0].message
    assert [x for x in w.writes if x[0] == "order"] == []
    pending = journal.pending_creates(journal.read_records(tmp_path))
    run(replace_plan(), w, clock, tmp_path, pending=pending, run_id="run-2")
    orders = [x for x in w.writes if x[0] == "order"]
    assert len(orders) == 1 and len(marked(w)) == 1
    events = journal.read_records(tmp_path)
    started = [e for e in events if e["step"] == "c1" and e["phase"] == "started"]
    # The first id (retried once with the same id) in run 1, a fresh one in run 2.
    assert len({e["request_id"] for e in started}) == 2


def test_a_same_id_retry_is_replayed_not_duplicated(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    w.faults["order"] = ["unknown-commit"]
    run(replace_plan(), w, clock, tmp_path)
    assert len(marked(w)) == 1


def test_a_crashed_runs_pending_order_is_found_before_ordering_again(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    name = markers.with_marker("Office E3", "e3")
    w.orders[("target", CUST)] = [("o-earlier", name)]  # ordered, subscription not listed yet
    pending = {(CUST, "e3"): journal.Pending(CUST, "e3", name, "rid-0", "run-0")}
    report = run(plan_of(create("c1")), w, clock, tmp_path, pending=pending, timeout_minutes=1)
    assert [x for x in w.writes if x[0] == "order"] == []
    assert report.steps[0].outcome is Out.SUCCEEDED and not report.steps[0].active


def test_every_write_is_journalled_started_then_settled(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    run(replace_plan(), w, clock, tmp_path)
    events = journal.read_records(tmp_path)
    assert [(e["step"], e["phase"]) for e in events] == [
        ("c1", "started"),
        ("c1", "succeeded"),
        ("c2", "started"),
        ("c2", "succeeded"),
    ]
    assert all(e["correlation_id"] and e["plan_id"].startswith("plan-") for e in events)
    assert journal.unaccounted(events) == []


def test_gates_and_blocked_changes_are_never_executed(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    invite = actions.Change(
        "g1",
        A.INVITE,
        actions.Address("target", CUST, "Contoso"),
        actions.Reason.INVITATION_PENDING,
        "",
    )
    blocked = actions.Change(
        "c1",
        A.CREATE,
        create().address,
        actions.Reason.NOT_IN_TARGET,
        "",
        after=create().after,
        depends_on=("g1",),
        blocked_by=("g1",),
    )
    report = run(plan_of(invite, blocked), w, clock, tmp_path)
    assert report.steps == [] and w.writes == []


@settings(
    max_examples=60,
    deadline=None,  # wall-clock time per example depends on the machine's load, not on the code
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    faults=st.lists(st.sampled_from(["unknown-commit", "unknown", "reject", None]), max_size=4),
    update_faults=st.lists(st.sampled_from(["unknown-commit", "unknown", None]), max_size=3),
    polls=st.one_of(st.none(), st.integers(0, 6)),
    runs=st.integers(1, 3),
)
def test_any_fault_sequence_never_duplicates_nor_suspends_early(
    tmp_path_factory: object,
    faults: list[str | None],
    update_faults: list[str | None],
    polls: int | None,
    runs: int,
) -> None:
    import tempfile

    clock = FakeClock()
    w = world(clock)
    w.new_activation_polls = polls
    w.faults["order"] = [f for f in faults if f]
    w.faults["update"] = [f for f in update_faults if f]
    with tempfile.TemporaryDirectory() as d:
        for i in range(runs):
            # Each run re-plans from live state: it only re-orders when no marker is found.
            pending = journal.pending_creates(journal.read_records(Path(d)))
            plan = (
                replace_plan()
                if not marked(w)
                else plan_of(source_change("c2", A.SUSPEND, "src1", 10))
            )
            run(plan, w, clock, Path(d), timeout_minutes=2, pending=pending, run_id=f"run-{i}")
    assert len(marked(w)) <= 1
    src = w.sub("de", "src1")
    if src.status == "suspended":
        (target,) = marked(w)
        suspended_at = src.history[-1][0]
        active_at = [t for t, s in target.history if s == "active"]
        assert active_at and active_at[0] <= suspended_at


def _transfer_change() -> actions.Change:
    return actions.Change(
        "t1",
        A.TRANSFER,
        actions.Address("de", CUST, "Contoso", "src1", "e3"),
        actions.Reason.ARRIVES_BY_TRANSFER,
        "",
        after={"target_tenant": "target", "quantity": 10},
    )


def test_a_transfer_is_requested_once_then_awaited_not_requested_again(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    first = run(plan_of(_transfer_change()), w, clock, tmp_path, run_id="run-a")
    assert first.steps[0].outcome is Out.SUCCEEDED
    earlier = journal.requested_transfers(journal.read_records(tmp_path))
    assert set(earlier) == {"src1"}
    log = journal.Journal(tmp_path, "run-b", "p")
    again = executor.Executor(
        plan_of(_transfer_change()),
        w,
        log,
        options=steps.Options(),
        now=clock.now,
        sleep=clock.sleep,
        transfers=earlier,
    ).run()
    assert "transfer t-src1 from de is already pending" in again.steps[0].message
    assert [x[0] for x in w.writes] == ["transfer"]


def test_a_cart_create_journals_the_cart_request_id_it_will_be_sent_with(tmp_path: Path) -> None:
    """The cart is the first request that leaves for a cart-channel create: its MS-RequestId
    is in the journal's started line next to the checkout's (the adapter derives it the same
    way, tests/unit/partner_center/test_pc_writer.py)."""
    from reconciler import writes

    clock = FakeClock()
    w = world(clock)
    run(plan_of(create("c1")), w, clock, tmp_path)
    (started,) = [e for e in journal.read_records(tmp_path) if e["phase"] == "started"]
    assert started["cart_request_id"] == writes.cart_request_id(started["request_id"])
    assert started["cart_request_id"] != started["request_id"]


@pytest.mark.parametrize("action", [A.RESIZE, A.REACTIVATE])
def test_nothing_is_ever_added_back_in_a_source_tenant(tmp_path: Path, action) -> None:
    """Whatever a plan file says: a resize or re-activation addressed to a source tenant
    fails with the reason, and nothing is written."""
    clock = FakeClock()
    w = world(clock)
    forged = dataclasses.replace(
        source_change("s1", A.SUSPEND, "src1", 10), action=action, after={"quantity": 40}
    )
    report = run(plan_of(forged), w, clock, tmp_path)
    assert w.writes == []
    (step,) = report.steps
    assert step.outcome is Out.FAILED
    assert "never added and subscriptions never re-activated in a source tenant" in step.message


def test_a_stale_etag_answer_is_read_again_rechecked_and_sent_once_more(tmp_path: Path) -> None:
    """2055 ("Etag is no longer valid", any status): nothing was written; the source is read
    again, rule 1 re-checked, and the suspension sent with a new request id."""
    clock = FakeClock()
    w = world(clock)
    w.faults["update"] = ["changed"]
    report = run(replace_plan(), w, clock, tmp_path)
    assert [s.outcome for s in report.steps] == [Out.SUCCEEDED, Out.SUCCEEDED]
    assert w.sub("de", "src1").status == "suspended"
    refused, sent = [x for x in w.writes if x[2] == "src1"]
    assert refused[0] == "refused-update" and sent[0] == "update" and refused[3] != sent[3]
    events = journal.read_records(tmp_path)
    assert [(e["step"], e["phase"]) for e in events if e["step"] == "c2"] == [
        ("c2", "started"),
        ("c2", "failed"),
        ("c2", "started"),
        ("c2", "succeeded"),
    ]
    assert journal.unaccounted(events) == []


def test_a_stale_etag_answer_after_the_target_went_away_suspends_nothing(
    tmp_path: Path,
) -> None:
    """The second decision is made on fresh reads: a target no longer active stops it."""
    clock = FakeClock()
    w = world(clock)
    w.faults["update"] = ["changed"]
    real = w.update

    def update(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return real(*args, **kwargs)
        finally:
            (target,) = marked(w)
            target.status = "suspended"  # someone suspends the target meanwhile

    w.update = update  # type: ignore[method-assign]
    report = run(replace_plan(), w, clock, tmp_path)
    assert report.steps[1].outcome is Out.SKIPPED
    assert w.sub("de", "src1").status == "active"


def test_a_second_stale_etag_answer_fails_the_step_without_a_third_send(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    w.faults["update"] = ["changed", "changed"]
    report = run(replace_plan(), w, clock, tmp_path)
    assert report.steps[1].outcome is Out.FAILED and "2055" in report.steps[1].message
    assert [x[0] for x in w.writes if x[2] == "src1"] == ["refused-update", "refused-update"]
    assert w.sub("de", "src1").status == "active"
    assert journal.unaccounted(journal.read_records(tmp_path)) == []
