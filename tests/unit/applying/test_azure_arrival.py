"""An Azure plan moved by transfer counts as verified only once the target's Azure plan holds
every Azure subscription the source plan held right before this run accepted the transfer
(``GET .../azureEntitlements`` on both sides); otherwise the pair stays unverified (what
depends on it waits) and the step says which Azure subscriptions are missing."""

from __future__ import annotations

from pathlib import Path

from apply_fakes import FakeClock, FakeWriter, addr, plan_of

from reconciler import errors
from reconciler.applying import executor, journal, steps
from reconciler.planning import actions

ACCEPT = actions.Change(
    "c-accept",
    actions.Action.ACCEPT,
    addr("de", "plan-s", "azure-plan"),
    actions.Reason.TRANSFER_PENDING_ACCEPTANCE,
    "accept",
    before={"subscription_id": "plan-s", "offer_id": "DZH318Z0BPS6:0001:DZH318Z0BML6"},
)


def _executor(writer: FakeWriter, clock: FakeClock, tmp_path: Path) -> executor.Executor:
    plan = plan_of(ACCEPT)
    log = journal.Journal(tmp_path, "run-1", journal.plan_id(plan))
    return executor.Executor(
        plan, writer, log, options=steps.Options(), now=clock.now, sleep=clock.sleep
    )


def test_the_target_plan_must_hold_every_azure_subscription_that_moved(tmp_path: Path) -> None:
    clock = FakeClock()
    writer = FakeWriter(clock)
    writer.azure[("target", "plan-t")] = {"az-own"}
    ex = _executor(writer, clock, tmp_path)
    ex.azure_moving["plan-s"] = frozenset({"az-moved", "az-other"})
    missing = ex._azure_arrived(ACCEPT, "plan-s", "plan-t")
    assert isinstance(missing, steps.StepResult) and not missing.active
    assert "az-moved, az-other of plan-s" in missing.message
    writer.azure[("target", "plan-t")] |= {"az-moved", "az-other"}
    assert ex._azure_arrived(ACCEPT, "plan-s", "plan-t") == (
        " and holds the 2 Azure subscriptions of plan-s"
    )


def test_unreadable_entitlements_leave_the_pair_unverified(tmp_path: Path) -> None:
    clock = FakeClock()

    class Unreadable(FakeWriter):
        def azure_subscriptions(self, tenant: str, customer_id: str, sid: str) -> frozenset[str]:
            raise errors.Unreadable("503 on GET azureEntitlements")

    ex = _executor(Unreadable(clock), clock, tmp_path)
    ex.azure_moving["plan-s"] = frozenset({"az-moved"})
    result = ex._azure_arrived(ACCEPT, "plan-s", "plan-t")
    assert isinstance(result, steps.StepResult) and not result.active
    assert "503 on GET azureEntitlements" in result.message


def test_an_acceptance_from_an_earlier_run_is_not_counted(tmp_path: Path) -> None:
    clock = FakeClock()
    ex = _executor(FakeWriter(clock), clock, tmp_path)
    assert ex._azure_arrived(ACCEPT, "plan-s", "plan-t") == ""
