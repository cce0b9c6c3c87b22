"""The concurrent apply: customers in parallel, each customer's changes in plan order on one
worker, one journal writer, ``on_step`` never called twice at once, and a journal failure in one
worker stopping them all."""

from __future__ import annotations

import dataclasses
import errno
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from apply_fakes import FakeClock, FakeSub, FakeWriter, create, plan_of, source_change

from reconciler import errors
from reconciler.applying import executor, journal, ports, steps
from reconciler.planning import actions

A = actions.Action
CUSTOMERS = [f"c0000000-0000-0000-0000-00000000010{i}" for i in range(4)]


def _for(customer: str, change: actions.Change) -> actions.Change:
    """``change`` for another customer (ids made unique per customer)."""
    n = CUSTOMERS.index(customer)
    address = dataclasses.replace(change.address, customer_id=customer, customer_name=f"C{n}")
    deps = tuple(f"{d}-{n}" for d in change.depends_on)
    return dataclasses.replace(change, id=f"{change.id}-{n}", address=address, depends_on=deps)


def _world(writer: FakeWriter) -> list[actions.Change]:
    """Per customer: create its target, then suspend its source (which depends on the create)."""
    changes: list[actions.Change] = []
    for n, cust in enumerate(CUSTOMERS):
        sid = f"src{n}"
        writer.add("de", FakeSub(sid, "91FD106F", "Office E3", 10, "active"), cust)
        changes.append(_for(cust, create("c1")))
        changes.append(_for(cust, source_change("c2", A.SUSPEND, sid, 10, ("c1",))))
    return changes


class MeetingWriter(FakeWriter):
    """Orders wait until every customer's order has arrived: a serial apply would never get
    there (the barrier breaks after its timeout), a concurrent one overlaps the waits."""

    def __init__(self, clock: FakeClock, parties: int) -> None:
        super().__init__(clock)
        self.barrier = threading.Barrier(parties, timeout=10)
        self._guard = threading.Lock()

    def order(
        self, tenant: str, customer_id: str, spec: ports.OrderSpec, *, request_id: str
    ) -> ports.Ordered:
        self.barrier.wait()
        with self._guard:
            return super().order(tenant, customer_id, spec, request_id=request_id)


def _executor(
    plan: actions.Plan,
    writer: FakeWriter,
    log: journal.Journal,
    parallelism: int,
    on_step: object = None,
) -> executor.Executor:
    clock = writer.clock
    return executor.Executor(
        plan,
        writer,
        log,
        options=steps.Options(activation_timeout=timedelta(minutes=30), parallelism=parallelism),
        now=clock.now,
        sleep=lambda s: None,
        on_step=on_step if callable(on_step) else (lambda r: None),
    )


def test_customers_run_at_once_each_in_plan_order(tmp_path: Path) -> None:
    writer = MeetingWriter(FakeClock(), parties=len(CUSTOMERS))
    writer.new_activation_polls = 1
    plan = plan_of(*_world(writer))
    log = journal.Journal(tmp_path, "run-1", journal.plan_id(plan))
    report = _executor(plan, writer, log, parallelism=len(CUSTOMERS)).run()
    log.close()

    assert [s.change.id for s in report.steps] == [c.id for c in plan.changes]  # plan order
    assert all(s.outcome is steps.Outcome.SUCCEEDED for s in report.steps), report.steps
    records = journal.read_records(tmp_path)
    assert journal.unaccounted(records) == []
    for n, cust in enumerate(CUSTOMERS):
        mine = [r["step"] for r in records if r.get("customer_id") == cust]
        # One customer's events stay in its plan order: the create is done before the suspend.
        assert mine.index(f"c2-{n}") > max(i for i, s in enumerate(mine) if s == f"c1-{n}")
        assert writer.sub("de", f"src{n}", cust).status == "suspended"


def test_parallelism_one_is_the_serial_order(tmp_path: Path) -> None:
    writer = FakeWriter(FakeClock())
    plan = plan_of(*_world(writer))
    log = journal.Journal(tmp_path, "run-1", journal.plan_id(plan))
    _executor(plan, writer, log, parallelism=1).run()
    log.close()
    started = [r["step"] for r in journal.read_records(tmp_path) if r["phase"] == "started"]
    assert started == [c.id for c in plan.changes]


def test_on_step_is_never_called_twice_at_once(tmp_path: Path) -> None:
    writer = FakeWriter(FakeClock())
    writer_lock = threading.Lock()
    real_order = writer.order

    def order(*args: object, **kwargs: object) -> ports.Ordered:
        with writer_lock:
            return real_order(*args, **kwargs)  # type: ignore[arg-type]

    writer.order = order  # type: ignore[method-assign]
    plan = plan_of(*_world(writer))
    inside, overlaps, seen = [0], [0], []

    def on_step(result: steps.StepResult) -> None:
        inside[0] += 1
        overlaps[0] += inside[0] > 1
        time.sleep(0.01)  # long enough for another worker to arrive if it could
        seen.append(result.change.id)
        inside[0] -= 1

    log = journal.Journal(tmp_path, "run-1", journal.plan_id(plan))
    _executor(plan, writer, log, parallelism=len(CUSTOMERS), on_step=on_step).run()
    log.close()
    assert overlaps == [0]
    assert sorted(seen) == sorted(c.id for c in plan.changes)


def test_a_journal_failure_in_one_worker_stops_them_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = MeetingWriter(FakeClock(), parties=1)  # no meeting: the barrier of one
    plan = plan_of(*_world(writer))
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        if b'"phase":"started"' in data and b'"step":"c1-1"' in data:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(journal.os, "write", full)
    log = journal.Journal(tmp_path, "run-1", journal.plan_id(plan))
    with pytest.raises(errors.JournalError):
        _executor(plan, writer, log, parallelism=2).run()
    log.close()
    ordered_for = {c for (_, c), orders in writer.orders.items() if orders}
    assert CUSTOMERS[1] not in ordered_for  # its "started" line failed: nothing was sent
    # The others stopped before their next step: no customer after it was even begun.
    assert not ordered_for & {CUSTOMERS[3]}


def test_customer_groups_keep_plan_order_and_join_linked_customers() -> None:
    a, b, c = (
        _for(CUSTOMERS[0], create("x")),
        _for(CUSTOMERS[1], create("y")),
        _for(CUSTOMERS[0], create("z")),
    )
    assert executor.customer_groups([a, b, c]) == [[a, c], [b]]
    # A dependency across customers (never planned, but a plan file could say so) puts both
    # customers on one worker, the dependency first.
    linked = dataclasses.replace(b, depends_on=(a.id,))
    assert executor.customer_groups([a, linked, c]) == [[a, linked, c]]


def test_journal_lines_from_many_threads_are_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def halves(fd: int, data: bytes) -> int:
        # The kernel may write less than asked: the writer must finish the line before any
        # other thread writes.
        n = real_write(fd, data[: max(1, len(data) // 2)])
        time.sleep(0.0005)
        return n

    monkeypatch.setattr(journal.os, "write", halves)
    log = journal.Journal(tmp_path, "run-1", "plan-1")
    clock = FakeClock()

    def append(worker: int) -> None:
        for i in range(25):
            log.append(ts=clock.now(), step=f"w{worker}-{i}", phase=journal.Phase.STARTED)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    lines = (tmp_path / "journal" / "run-1.jsonl").read_bytes().splitlines()
    assert len(lines) == 200
    records = journal.read_records(tmp_path)  # raises on any line that is not one event
    assert sorted(r["step"] for r in records) == sorted(
        f"w{w}-{i}" for w in range(8) for i in range(25)
    )
    for w in range(8):  # one thread's lines stay in its order
        mine = [r["step"] for r in records if r["step"].startswith(f"w{w}-")]
        assert mine == [f"w{w}-{i}" for i in range(25)]


def test_activity_counts_customers_in_flight_and_those_waiting(tmp_path: Path) -> None:
    """What apply's progress line shows: up to ``parallelism`` customers at once, some of them
    waiting between provisioning polls, and none left when the run ends."""
    writer = MeetingWriter(FakeClock(), parties=len(CUSTOMERS))
    writer.new_activation_polls = 2  # every create polls before its subscription is active
    plan = plan_of(*_world(writer))
    seen: list[steps.Activity] = []
    log = journal.Journal(tmp_path, "run-1", journal.plan_id(plan))
    run = _executor(plan, writer, log, parallelism=len(CUSTOMERS))
    run.on_activity = seen.append
    run.run()
    log.close()
    assert max(a.in_flight for a in seen) == len(CUSTOMERS)  # the orders meet: all at once
    assert max(a.waiting for a in seen) >= 1
    assert all(0 <= a.waiting <= a.in_flight <= len(CUSTOMERS) for a in seen)
    assert seen[-1] == steps.Activity(0, 0)


def test_serial_activity_is_one_customer_at_a_time(tmp_path: Path) -> None:
    writer = FakeWriter(FakeClock())
    writer.new_activation_polls = 1
    plan = plan_of(*_world(writer))
    seen: list[steps.Activity] = []
    log = journal.Journal(tmp_path, "run-1", journal.plan_id(plan))
    run = _executor(plan, writer, log, parallelism=1)
    run.on_activity = seen.append
    run.run()
    log.close()
    assert {a.in_flight for a in seen} == {0, 1}
    assert steps.Activity(1, 1) in seen and seen[-1] == steps.Activity(0, 0)


def test_stages_split_target_side_from_source_side_work() -> None:
    writer = FakeWriter(FakeClock())
    changes = _world(writer)
    assert steps.stage_totals(changes) == {steps.Stage.TARGETS: 4, steps.Stage.SOURCES: 4}
    assert steps.stage_totals([]) == {steps.Stage.TARGETS: 0, steps.Stage.SOURCES: 0}
    assert {steps.stage_of(a) for a in (A.SUSPEND, A.CANCEL, A.DISABLE_AUTO_RENEW)} == {
        steps.Stage.SOURCES
    }
    assert {steps.stage_of(a) for a in (A.CREATE, A.RESIZE, A.REACTIVATE, A.TRANSFER)} == {
        steps.Stage.TARGETS
    }
