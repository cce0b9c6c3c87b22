"""Apply's TRANSFER step against the in-memory Partner Center: the target's live transfer
list decides (one request, never two), the journal only covers a request the list does not
show yet, and an unknown outcome is resolved by looking before anything is sent again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from apply_fakes import CUST, FakeClock, FakeSub, FakeWriter, plan_of, run

from reconciler import model
from reconciler.applying import executor, journal, steps
from reconciler.planning import actions

A = actions.Action
Out = steps.Outcome


def world(clock: FakeClock) -> FakeWriter:
    w = FakeWriter(clock)
    w.add("de", FakeSub("src1", "CFQ7TTC0LCHC:0002:CFQ7TTC0HB8Z", "Premium", 18, "active"))
    w.add("de", FakeSub("src2", "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G", "Exchange", 5, "active"))
    return w


def transfer_change(sid: str = "src1", cid: str = "t1") -> actions.Change:
    return actions.Change(
        cid,
        A.TRANSFER,
        actions.Address("de", CUST, "Contoso", sid, "premium"),
        actions.Reason.ARRIVES_BY_TRANSFER,
        "",
        after={"target_tenant": "target", "quantity": 18},
    )


def listed(
    w: FakeWriter, clock: FakeClock, status: model.TransferStatus, *, age: timedelta
) -> None:
    created = clock.now() - age
    w.transfers.setdefault(("target", CUST), []).append(
        model.LiveTransfer("old", status, "de", "target", created, created + timedelta(days=30))
    )


def sent(w: FakeWriter) -> list[str]:
    return [x[2] for x in w.writes if x[0] == "transfer"]


def test_a_pending_request_made_elsewhere_is_not_made_again(tmp_path: Path) -> None:
    # Another machine (a CI runner) asked yesterday: this journal knows nothing of it.
    clock = FakeClock()
    w = world(clock)
    listed(w, clock, model.TransferStatus.PENDING, age=timedelta(days=1))
    report = run(plan_of(transfer_change()), w, clock, tmp_path)
    [step] = report.steps
    assert step.outcome is Out.SUCCEEDED and "transfer old from de is already pending" in (
        step.message
    )
    assert sent(w) == []


def test_two_subscriptions_of_one_source_make_one_request_in_one_run(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    plan = plan_of(transfer_change("src1", "t1"), transfer_change("src2", "t2"))
    report = run(plan, w, clock, tmp_path)
    assert [s.outcome for s in report.steps] == [Out.SUCCEEDED, Out.SUCCEEDED]
    assert sent(w) == ["src1"]
    assert "already pending" in report.steps[1].message


def test_an_expired_or_cancelled_request_is_made_again_even_if_the_journal_remembers_it(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    w = world(clock)
    run(plan_of(transfer_change()), w, clock, tmp_path, run_id="run-a")
    # The source partner declined: the target cancelled it; the list shows it ended.
    [mine] = w.transfers[("target", CUST)]
    w.transfers[("target", CUST)] = [
        model.LiveTransfer(
            mine.id,
            model.TransferStatus.CANCELLED,
            "de",
            "target",
            mine.created_at,
            mine.expires_at,
        )
    ]
    clock.t += timedelta(days=2)
    log = journal.Journal(tmp_path, "run-b", "p")
    again = executor.Executor(
        plan_of(transfer_change()),
        w,
        log,
        options=steps.Options(),
        now=clock.now,
        sleep=clock.sleep,
        transfers=journal.requested_transfers(journal.read_records(tmp_path)),
    ).run()
    log.close()
    assert again.steps[0].outcome is Out.SUCCEEDED
    assert sent(w) == ["src1", "src1"]


def test_the_journal_still_guards_a_request_the_list_does_not_show_yet(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    run(plan_of(transfer_change()), w, clock, tmp_path, run_id="run-a")
    w.transfers.clear()  # Partner Center's list lags behind the request it accepted
    log = journal.Journal(tmp_path, "run-b", "p")
    again = executor.Executor(
        plan_of(transfer_change()),
        w,
        log,
        options=steps.Options(),
        now=clock.now,
        sleep=clock.sleep,
        transfers=journal.requested_transfers(journal.read_records(tmp_path)),
    ).run()
    log.close()
    [step] = again.steps
    assert step.outcome is Out.SKIPPED and "already requested by run run-a" in step.message
    assert sent(w) == ["src1"]


def test_an_unreadable_transfer_list_sends_nothing(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    w.faults["list_transfers"] = ["unreadable"]
    [step] = run(plan_of(transfer_change()), w, clock, tmp_path).steps
    assert step.outcome is Out.FAILED and "503" in step.message
    assert sent(w) == []


def test_an_unknown_outcome_is_resolved_by_the_list_not_by_a_second_request(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    w = world(clock)
    w.faults["transfer"] = ["unknown-commit"]
    [step] = run(plan_of(transfer_change()), w, clock, tmp_path).steps
    assert step.outcome is Out.SUCCEEDED and "transfer t-src1 requested" in step.message
    assert sent(w) == ["src1"]


def test_an_unknown_outcome_that_left_no_request_stays_unknown(tmp_path: Path) -> None:
    clock = FakeClock()
    w = world(clock)
    w.faults["transfer"] = ["unknown"]
    [step] = run(plan_of(transfer_change()), w, clock, tmp_path).steps
    assert step.outcome is Out.UNKNOWN
    assert sent(w) == []
