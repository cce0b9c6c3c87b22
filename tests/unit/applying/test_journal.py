"""The journal: durable events per run, crash leftovers found, applied plans remembered, and the
billing-dispute export per customer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apply_fakes import T0, create, plan_of

from reconciler import errors
from reconciler.applying import journal


def _log(tmp_path: Path, run_id: str = "20260302T090000Z-a") -> journal.Journal:
    return journal.Journal(tmp_path, run_id, "plan-1")


def test_events_survive_as_json_lines_in_a_file_per_run(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.append(ts=T0, step="c1", phase="started", customer_id="x", request_id="r1")
    log.close()
    (path,) = (tmp_path / "journal").glob("*.jsonl")
    assert json.loads(path.read_text())["request_id"] == "r1"


def test_a_torn_last_line_is_ignored_and_the_step_stays_started(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.append(
        ts=T0,
        step="c1",
        action="create",
        key="e3",
        customer_id="x",
        phase="started",
        request_id="r1",
        after={"friendly_name": "E3 [rc:e3]"},
    )
    log.close()
    with log.path.open("a") as fh:
        fh.write('{"ts": "2026-03-0')  # killed mid-write
    records = journal.read_records(tmp_path)
    assert len(records) == 1
    (pending,) = journal.pending_creates(records).values()
    assert pending.friendly_name == "E3 [rc:e3]" and pending.request_id == "r1"
    assert [r["step"] for r in journal.unaccounted(records)] == ["c1"]


def test_a_later_runs_outcome_settles_a_pending_create(tmp_path: Path) -> None:
    a = _log(tmp_path, "run-a")
    a.append(ts=T0, step="c1", action="create", key="e3", customer_id="x", phase="started")
    a.close()
    b = _log(tmp_path, "run-b")
    b.append(ts=T0, step="c1", action="create", key="e3", customer_id="x", phase="succeeded")
    b.close()
    assert journal.pending_creates(journal.read_records(tmp_path)) == {}


def test_plan_ids_are_stable_and_applied_plans_are_remembered(tmp_path: Path) -> None:
    plan = plan_of(create())
    assert journal.plan_id(plan) == journal.plan_id(plan_of(create()))
    assert journal.plan_id(plan) != journal.plan_id(plan_of(create(quantity=3)))
    assert journal.applied_run(tmp_path, journal.plan_id(plan)) is None
    journal.mark_applied(tmp_path, journal.plan_id(plan), "run-a", T0)
    assert journal.applied_run(tmp_path, journal.plan_id(plan)) == "run-a"


def test_export_lists_what_happened_per_customer_with_correlation_ids(tmp_path: Path) -> None:
    log = _log(tmp_path)
    for cust, name in (("b-id", "Beta"), ("a-id", "Alpha")):
        log.append(
            ts=T0,
            step="s",
            action="suspend",
            customer_id=cust,
            customer_name=name,
            tenant="de",
            subscription_id="sub-" + cust,
            phase="succeeded",
            correlation_id="corr-1",
            request_id="r",
            before={"status": "active", "quantity": 5},
            after={"status": "suspended"},
        )
    log.close()
    rows = list(journal.export_rows(journal.read_records(tmp_path)))
    assert [r["customer_name"] for r in rows] == ["Alpha", "Beta"]
    csv_text = journal.to_csv(rows)
    assert csv_text.splitlines()[0].startswith("ts,run_id,plan_id,customer_id")
    assert "sub-a-id" in csv_text and "corr-1" in csv_text and "suspended" in csv_text
    doc = json.loads(journal.to_json(rows))
    assert doc["customers"][0]["events"][0]["after_status"] == "suspended"
    only = list(journal.export_rows(journal.read_records(tmp_path), customers=["beta"]))
    assert [r["customer_id"] for r in only] == ["b-id"]


def test_phases_are_written_as_their_strings_and_read_back_as_phases(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.append(ts=T0, step="c1", phase=journal.Phase.UNKNOWN, customer_id="x", request_id="r1")
    log.close()
    assert '"phase":"unknown"' in log.path.read_text()
    (record,) = journal.read_records(tmp_path)
    assert record["phase"] is journal.Phase.UNKNOWN


def test_a_line_with_an_unknown_phase_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.append(ts=T0, step="c1", phase="started", customer_id="x")
    log.close()
    with log.path.open("a") as fh:
        fh.write('{"ts": "2026-03-02T09:00:00+00:00", "step": "c1", "phase": "done"}\n')
        fh.write('{"ts": "2026-03-02T09:00:01+00:00", "step": "c2", "phase": "started"}\n')
    with pytest.raises(errors.ReconcilerError, match=rf"{log.path.name}:2 is not a journal event"):
        journal.read_records(tmp_path)
