"""The Microsoft Customer Agreement before the first purchase (issue 12 point 3): a customer
whose acceptance is not confirmed in the target gets one `record-agreement` write when the
manifest records the acceptance (`customerAgreement`), else one `confirm-agreement` gate with
the steps; unreadable is a gate whatever the manifest says. Every purchase of theirs waits for
it; confirmed or not read at all (no relationship yet), nothing changes."""

from __future__ import annotations

import dataclasses

import demo_world as w
import pytest

from reconciler import model
from reconciler.planning import actions, planner

A = actions.Action
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"


@pytest.fixture
def state() -> model.DesiredState:
    return w.desired()


ANNA = model.CustomerAgreement(
    first_name="Anna",
    last_name="Weber",
    email="anna.weber@fabrikam.example",
    phone_number="",
    date_agreed="2026-11-30",
    origin=model.Origin("manifests/customers/fabrikam.yaml", 40),
)


def _recorded(state: model.DesiredState, record: model.CustomerAgreement | None = ANNA):
    customers = tuple(
        dataclasses.replace(c, agreement=record) if c.tenant_id == FABRIKAM else c
        for c in state.customers
    )
    return dataclasses.replace(state, customers=customers)


def _plan(state: model.DesiredState, **agreement: object) -> actions.Plan:
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    target[FABRIKAM] = dataclasses.replace(target[FABRIKAM], **agreement)  # type: ignore[arg-type]
    return planner.build_plan(
        state, w.live_state(state, target=target), now=w.NOW, tool_version="test"
    )


def _fabrikam(plan: actions.Plan) -> list[actions.Change]:
    return [c for c in plan.changes if c.address.customer_id == FABRIKAM]


def test_not_accepted_gates_every_purchase_of_the_customer_with_the_steps(state) -> None:
    plan = _plan(state, agreement=False)
    changes = _fabrikam(plan)
    [gate] = [c for c in changes if c.action is A.CONFIRM_AGREEMENT]
    assert gate.reason is actions.Reason.AGREEMENT_NOT_ACCEPTED and gate.gate is not None
    # The steps name the manifest field that lets apply record it (and the sign-in it needs).
    what = gate.gate.what
    assert "`customerAgreement`" in what and "manifests/customers/fabrikam.yaml" in what
    assert "acceptedBy" in what and "dateAgreed" in what
    assert "`reconciler login central`" in what and "Partner Center" in what
    assert "13605" in gate.detail
    creates = [c for c in changes if c.action is A.CREATE]
    assert len(creates) == 2
    assert all(gate.id in c.depends_on and not c.applicable for c in creates)
    # Suspensions wait on the purchases, so nothing of Fabrikam's can be written yet.
    assert not any(c.applicable for c in changes)
    # Other customers are not held back.
    assert any(c.applicable for c in plan.changes if c.address.customer_id != FABRIKAM)


def test_unknown_is_said_and_gates_too_never_read_as_accepted(state) -> None:
    plan = _plan(state, agreement=None, agreement_reason="HTTP 503 from Partner Center")
    [gate] = [c for c in _fabrikam(plan) if c.action is A.CONFIRM_AGREEMENT]
    assert gate.reason is actions.Reason.AGREEMENT_UNKNOWN
    assert "could not be read (HTTP 503 from Partner Center)" in gate.detail
    assert any(d.code == "agreement-unknown" and "Fabrikam" in d.message for d in plan.diagnostics)
    assert not any(c.applicable for c in _fabrikam(plan) if c.action is A.CREATE)


@pytest.mark.parametrize("agreement", [True, None])
def test_confirmed_or_not_read_plans_purchases_without_a_gate(state, agreement) -> None:
    changes = _fabrikam(_plan(state, agreement=agreement))
    assert not any(c.action is A.CONFIRM_AGREEMENT for c in changes)
    assert all(c.applicable for c in changes if c.action is A.CREATE)


def test_only_customers_the_plan_may_buy_for_are_read(state) -> None:
    wanted = planner.agreement_customers(state.customers)
    assert FABRIKAM in wanted
    pinned = dataclasses.replace(
        state.customers[0],
        subscriptions=tuple(
            dataclasses.replace(s, target_subscription_id="7e1d0000-0000-4000-8000-000000000001")
            for s in state.customers[0].subscriptions
        ),
    )
    assert pinned.tenant_id not in planner.agreement_customers([pinned])


def test_not_accepted_with_the_record_in_the_manifest_plans_a_write_purchases_wait_for(
    state,
) -> None:
    plan = _plan(_recorded(state), agreement=False)
    changes = _fabrikam(plan)
    assert not any(c.action is A.CONFIRM_AGREEMENT for c in changes)
    [record] = [c for c in changes if c.action is A.RECORD_AGREEMENT]
    assert record.reason is actions.Reason.AGREEMENT_IN_MANIFEST and record.gate is None
    assert record.applicable and record.action.writes
    assert record.address.tenant == "central" and record.address.key is None
    assert dict(record.after or {}) == {
        "first_name": "Anna",
        "last_name": "Weber",
        "email": "anna.weber@fabrikam.example",
        "phone_number": "",
        "date_agreed": "2026-11-30",
    }
    assert "Anna Weber on 2026-11-30" in record.detail
    assert "manifests/customers/fabrikam.yaml:40" in record.detail
    creates = [c for c in changes if c.action is A.CREATE]
    assert len(creates) == 2
    assert all(record.id in c.depends_on and c.applicable for c in creates)
    # Recorded first: the write comes before the purchases that need it.
    order = [c.id for c in plan.changes]
    assert all(order.index(record.id) < order.index(c.id) for c in creates)


def test_unknown_stays_a_gate_even_with_the_record_in_the_manifest(state) -> None:
    reason = "no user is signed in to tenant 'central': run `reconciler login central`"
    plan = _plan(_recorded(state), agreement=None, agreement_reason=reason)
    changes = _fabrikam(plan)
    assert not any(c.action is A.RECORD_AGREEMENT for c in changes)
    [gate] = [c for c in changes if c.action is A.CONFIRM_AGREEMENT]
    assert gate.reason is actions.Reason.AGREEMENT_UNKNOWN and gate.gate is not None
    assert reason in gate.detail
    assert "`reconciler login central`" in gate.gate.what and "plan" in gate.gate.what
    assert not any(c.applicable for c in changes if c.action is A.CREATE)


def test_confirmed_in_the_target_the_record_in_the_manifest_changes_nothing(state) -> None:
    changes = _fabrikam(_plan(_recorded(state), agreement=True))
    assert not any(c.action in (A.RECORD_AGREEMENT, A.CONFIRM_AGREEMENT) for c in changes)
    assert all(c.applicable for c in changes if c.action is A.CREATE)
