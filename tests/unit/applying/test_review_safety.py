"""Findings of the adversarial safety review of apply: each test shows a way a rule could be
broken, and that it no longer is."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_fakes import CUST, FakeClock, FakeSub, FakeWriter, create, plan_of, run, source_change

from reconciler import errors, model
from reconciler.applying import checks, executor
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
