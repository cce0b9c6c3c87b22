"""The Microsoft Customer Agreement before the first purchase (issue 12 point 3): a customer
whose acceptance is not confirmed in the target, or could not be read, gets one
`confirm-agreement` gate that every purchase of theirs waits for; confirmed or not read at all
(no relationship yet), nothing changes."""

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
    assert "POST /v1/customers/{id}/agreements" in gate.gate.what and "App+User" in gate.gate.what
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
