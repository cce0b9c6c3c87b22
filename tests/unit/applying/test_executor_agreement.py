"""Apply's `record-agreement` against an in-memory Partner Center: the customer's agreements
are read again right before the write (already confirmed: done, nothing posted), the
manifest's acceptance is posted once, journalled before and after, and a lost answer is read
back before the same request is sent again; the customer's purchases wait for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_fakes import CUST, TEMPLATE, FakeClock, FakeWriter, create, plan_of, run, with_deps

from reconciler import errors, model
from reconciler.applying import checks, journal, ports, steps
from reconciler.planning import actions

A = actions.Action
Out = steps.Outcome
ANNA = ports.AgreementSpec("Anna", "Weber", "anna.weber@fabrikam.example", "", "2026-11-30")


def record(cid: str = "r1", tenant: str = "target") -> actions.Change:
    return actions.Change(
        cid,
        A.RECORD_AGREEMENT,
        actions.Address(tenant, CUST, "Contoso", None, None),
        actions.Reason.AGREEMENT_IN_MANIFEST,
        "record",
        after={
            "first_name": "Anna",
            "last_name": "Weber",
            "email": "anna.weber@fabrikam.example",
            "phone_number": "",
            "date_agreed": "2026-11-30",
        },
    )


def _posts(w: FakeWriter) -> list[tuple[str, str, str, str]]:
    return [x for x in w.writes if x[0] == "agreement"]


def _phases(state: Path) -> list[tuple[str, str]]:
    return [(r["action"], r["phase"]) for r in journal.read_records(state)]


def test_posts_the_manifests_acceptance_then_the_purchase_runs(tmp_path: Path) -> None:
    clock = FakeClock()
    w = FakeWriter(clock)
    report = run(plan_of(record(), with_deps(create("c1"), "r1")), w, clock, tmp_path)
    assert [s.outcome for s in report.steps] == [Out.SUCCEEDED, Out.SUCCEEDED]
    assert w.agreements[("target", CUST)] == [ANNA]
    [post] = _posts(w)
    assert "Anna Weber on 2026-11-30" in report.steps[0].message
    phases = _phases(tmp_path)
    assert phases[:2] == [("record-agreement", "started"), ("record-agreement", "succeeded")]
    started, done = journal.read_records(tmp_path)[:2]
    assert started["request_id"] == post[3] == done["request_id"]
    assert done["result"] == {"template_id": TEMPLATE}


def test_already_confirmed_is_done_and_nothing_is_posted(tmp_path: Path) -> None:
    clock = FakeClock()
    w = FakeWriter(clock)
    w.agreements[("target", CUST)] = [ANNA]
    report = run(plan_of(record(), with_deps(create("c1"), "r1")), w, clock, tmp_path)
    assert [s.outcome for s in report.steps] == [Out.SUCCEEDED, Out.SUCCEEDED]
    assert "already confirmed" in report.steps[0].message and _posts(w) == []
    assert ("record-agreement", "started") not in _phases(tmp_path)


def test_a_lost_answer_is_read_back_and_never_posted_twice(tmp_path: Path) -> None:
    clock = FakeClock()
    w = FakeWriter(clock)
    w.faults["record_agreement"] = ["unknown-commit"]
    report = run(plan_of(record(), with_deps(create("c1"), "r1")), w, clock, tmp_path)
    assert [s.outcome for s in report.steps] == [Out.SUCCEEDED, Out.SUCCEEDED]
    assert len(_posts(w)) == 1 and w.agreements[("target", CUST)] == [ANNA]


def test_a_lost_answer_with_nothing_recorded_is_sent_again_with_the_same_request_id(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    w = FakeWriter(clock)
    w.faults["record_agreement"] = ["unknown"]
    report = run(plan_of(record()), w, clock, tmp_path)
    assert report.steps[0].outcome is Out.SUCCEEDED
    [post] = _posts(w)  # the first send never arrived; the resend carries the same id
    started = journal.read_records(tmp_path)[0]
    assert started["phase"] == "started" and started["request_id"] == post[3]


def test_an_outcome_still_unknown_stops_the_purchases(tmp_path: Path) -> None:
    clock = FakeClock()
    w = FakeWriter(clock)
    w.faults["record_agreement"] = ["unknown", "unknown"]
    report = run(plan_of(record(), with_deps(create("c1"), "r1")), w, clock, tmp_path)
    assert [s.outcome for s in report.steps] == [Out.UNKNOWN, Out.SKIPPED]
    assert w.orders == {}
    assert ("record-agreement", "unknown") in _phases(tmp_path)


def test_a_refusal_fails_the_step_and_nothing_is_bought(tmp_path: Path) -> None:
    clock = FakeClock()
    w = FakeWriter(clock)
    w.faults["record_agreement"] = ["reject"]
    report = run(plan_of(record(), with_deps(create("c1"), "r1")), w, clock, tmp_path)
    assert [s.outcome for s in report.steps] == [Out.FAILED, Out.SKIPPED]
    assert w.orders == {} and ("record-agreement", "failed") in _phases(tmp_path)


def test_unreadable_agreements_fail_the_step_before_anything_is_posted(tmp_path: Path) -> None:
    clock = FakeClock()
    w = FakeWriter(clock)
    w.faults["agreement_confirmed"] = ["unreadable"]
    report = run(plan_of(record()), w, clock, tmp_path)
    assert report.steps[0].outcome is Out.FAILED and _posts(w) == []


def test_a_record_for_a_source_tenant_is_refused(tmp_path: Path) -> None:
    clock = FakeClock()
    w = FakeWriter(clock)
    report = run(plan_of(record(tenant="de")), w, clock, tmp_path)
    assert report.steps[0].outcome is Out.FAILED and "target only" in report.steps[0].message
    assert _posts(w) == []


def _desired(agreement: model.CustomerAgreement | None) -> model.DesiredState:
    origin = model.Origin("customers/contoso.yaml", 1)
    customer = model.DesiredCustomer(
        CUST, "Contoso", "contoso.example", "de", False, (), (), origin, agreement=agreement
    )
    return model.DesiredState(consolidation=None, customers=(customer,))  # type: ignore[arg-type]


def test_a_saved_record_is_refused_once_the_manifests_no_longer_record_the_acceptance() -> None:
    signer = model.CustomerAgreement(
        "Anna", "Weber", "anna.weber@fabrikam.example", "", "2026-11-30", model.Origin("x", 1)
    )
    plan = plan_of(record())
    checks.check_manifests(plan, _desired(signer))
    with pytest.raises(errors.ApplyRefusedError, match="no longer record its customerAgreement"):
        checks.check_manifests(plan, _desired(None))
