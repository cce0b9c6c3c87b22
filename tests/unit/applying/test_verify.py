"""The final verification: per customer how far consolidation got, and which billing overlaps
the run ended or left open."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import MappingProxyType

from apply_fakes import CUST, source_change

from reconciler import model
from reconciler.applying import steps, verify
from reconciler.planning import actions

A = actions.Action
NOW = datetime(2026, 3, 2, tzinfo=UTC)
ORIGIN = model.Origin("m.yaml", 1)


def _sub(sid: str, status: str, name: str = "", qty: int = 10) -> model.LiveSubscription:
    return model.LiveSubscription(
        sid,
        "X",
        "",
        name,
        qty,
        model.SubscriptionStatus(status),
        model.CommerceModel.LEGACY_LICENSE,
        "monthly",
        None,
        True,
        None,
        None,
        None,
        (),
        None,
        None,
    )


def _desired() -> model.DesiredState:
    ds = model.DesiredSubscription(
        "e3",
        "X",
        model.CommerceModel.LEGACY_LICENSE,
        10,
        "monthly",
        None,
        None,
        (model.Replacement("src1", model.SourceStrategy.AUTO, ORIGIN),),
        False,
        ORIGIN,
    )
    cust = model.DesiredCustomer(CUST, "Contoso", "c.com", "de", False, (ds,), (), ORIGIN)
    t = model.Tenant("target", "t", "IE", model.Role.TARGET)
    s = model.Tenant("de", "d", "DE", model.Role.SOURCE)
    cons = model.Consolidation("acme", t, (s,), model.Policy(), ORIGIN)
    return model.DesiredState(cons, (cust,))


def _live(target: model.CustomerView, source: model.CustomerView) -> model.LiveState:
    d = _desired().consolidation
    return model.LiveState(
        NOW,
        MappingProxyType(
            {
                "target": model.TenantView(d.target, MappingProxyType({CUST: target})),
                "de": model.TenantView(d.sources[0], MappingProxyType({CUST: source})),
            }
        ),
    )


def test_a_consolidated_customer_shows_target_active_and_source_stopped() -> None:
    target = model.CustomerView(
        CUST, model.ReadStatus.OK, subscriptions=(_sub("t1", "active", "E3 [rc:e3]"),)
    )
    source = model.CustomerView(
        CUST, model.ReadStatus.OK, subscriptions=(_sub("src1", "suspended"),)
    )
    (row,) = verify.states(_desired(), _live(target, source), {CUST})
    assert (row.invited, row.target_active, row.source_stopped) == (True, "1/1", "1/1")
    assert "Contoso" in verify.render([row]) and "1/1" in verify.render([row])


def test_an_uninvited_customer_and_an_unreadable_source_are_told_apart() -> None:
    target = model.CustomerView(CUST, model.ReadStatus.NO_RELATIONSHIP)
    source = model.CustomerView(CUST, model.ReadStatus.UNKNOWN, reason="503")
    (row,) = verify.states(_desired(), _live(target, source), {CUST})
    assert (row.invited, row.target_active, row.source_stopped) == (False, "0/1", "?")


def test_overlap_lines_say_what_ended_and_what_stays_open() -> None:
    done = source_change("s1", A.SUSPEND, "src1", 10)
    left = source_change("s2", A.SUSPEND, "src2", 10)
    lines = verify.overlap_lines(
        [
            steps.StepResult(done, steps.Outcome.SUCCEEDED, "ok"),
            steps.StepResult(left, steps.Outcome.SKIPPED, "skipped"),
        ]
    )
    assert lines[0].startswith("ended:") and "src1" in lines[0]
    assert lines[1].startswith("open:") and "src2" in lines[1]


def _with_offers(state: model.DesiredState, wanted: str, replaces: tuple[str, ...]):
    """``state`` whose entry wants ``wanted``, an Offers entry that replaces ``replaces``."""
    (cust,) = state.customers
    ds = dataclasses.replace(cust.subscriptions[0], offer_id=wanted, offer_alias="e3")
    offer = model.Offer("e3", wanted, "Office 365 E3", model.CommerceModel.NCE_LICENSE, replaces)
    cons = dataclasses.replace(state.consolidation, offers=MappingProxyType({"e3": offer}))
    return model.DesiredState(cons, (dataclasses.replace(cust, subscriptions=(ds,)),))


def test_a_target_adopted_by_offer_without_marker_counts_as_active() -> None:
    target = model.CustomerView(
        CUST, model.ReadStatus.OK, subscriptions=(_sub("t1", "active", "bought by hand"),)
    )
    source = model.CustomerView(
        CUST, model.ReadStatus.OK, subscriptions=(_sub("src1", "suspended"),)
    )
    (row,) = verify.states(_desired(), _live(target, source), {CUST})
    assert (row.target_active, row.source_stopped) == ("1/1", "1/1")


def test_a_target_adopted_by_product_counts_and_a_short_one_does_not() -> None:
    state = _with_offers(_desired(), "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R", ("X",))
    source = model.CustomerView(
        CUST, model.ReadStatus.OK, subscriptions=(_sub("src1", "suspended"),)
    )
    legacy = model.CustomerView(
        CUST, model.ReadStatus.OK, subscriptions=(_sub("t1", "active", "E3 by hand"),)
    )
    (row,) = verify.states(state, _live(legacy, source), {CUST})
    assert row.target_active == "1/1"
    short = model.CustomerView(
        CUST, model.ReadStatus.OK, subscriptions=(_sub("t1", "active", "E3 by hand", qty=4),)
    )
    (row,) = verify.states(state, _live(short, source), {CUST})
    assert row.target_active == "0/1"


def test_a_source_left_billing_says_whether_its_replacement_exists() -> None:
    create = source_change("c1", A.CREATE, "t1", 10)
    waiting = source_change("s1", A.SUSPEND, "src1", 10, deps=("c1",))
    alone = source_change("s2", A.SUSPEND, "src2", 10)
    lines = verify.overlap_lines(
        [
            steps.StepResult(create, steps.Outcome.FAILED, "500600"),
            steps.StepResult(waiting, steps.Outcome.SKIPPED, "its target failed"),
            steps.StepResult(alone, steps.Outcome.FAILED, "409"),
        ]
    )
    assert lines == [
        "open: "
        + str(waiting.address)
        + " still bills (its replacement is not active yet); run `reconciler apply` again once "
        "the reason above is resolved",
        "open: "
        + str(alone.address)
        + " still bills next to its replacement; run `reconciler apply` again once the reason "
        "above is resolved",
    ]


def test_a_target_arrived_by_transfer_counts_without_marker_or_pin() -> None:
    arrived = _sub("t9", "active", "moved by transfer")
    twin = _sub("t8", "active", "bought by hand")  # same offer: by offer alone, ambiguous
    transfer = model.LiveTransfer(
        "tr-1",
        model.TransferStatus.COMPLETED,
        "d",
        "t",
        NOW,
        None,
        (model.LiveTransferLine("src1", "t9", "complete"),),
    )
    target = model.CustomerView(
        CUST, model.ReadStatus.OK, subscriptions=(twin, arrived), transfers=(transfer,)
    )
    source = model.CustomerView(CUST, model.ReadStatus.OK, subscriptions=())
    (row,) = verify.states(_desired(), _live(target, source), {CUST})
    assert (row.target_active, row.source_stopped) == ("1/1", "1/1")
    # Without the transfer the plan could not tell the two apart, and neither does the report.
    no_transfer = dataclasses.replace(target, transfers=())
    (row,) = verify.states(_desired(), _live(no_transfer, source), {CUST})
    assert row.target_active == "0/1"


def test_a_pinned_target_counts_even_beside_a_twin_of_its_offer() -> None:
    state = _desired()
    (cust,) = state.customers
    pinned = dataclasses.replace(cust.subscriptions[0], target_subscription_id="t2")
    state = model.DesiredState(
        state.consolidation, (dataclasses.replace(cust, subscriptions=(pinned,)),)
    )
    target = model.CustomerView(
        CUST,
        model.ReadStatus.OK,
        subscriptions=(_sub("t1", "active", "twin"), _sub("t2", "active", "pinned")),
    )
    source = model.CustomerView(CUST, model.ReadStatus.OK, subscriptions=())
    (row,) = verify.states(state, _live(target, source), {CUST})
    assert row.target_active == "1/1"
    # The same two without the pin: the plan could not choose, and the report does not guess.
    (row,) = verify.states(_desired(), _live(target, source), {CUST})
    assert row.target_active == "0/1"


def test_an_azure_plan_moved_by_a_completed_transfer_counts_even_if_its_plan_stays() -> None:
    state = _desired()
    (cust,) = state.customers
    handoff = model.AzureHandoff("azure-plan", "az1", False, ORIGIN)
    state = dataclasses.replace(state, customers=(dataclasses.replace(cust, azure=(handoff,)),))
    source = model.CustomerView(
        CUST,
        model.ReadStatus.OK,
        subscriptions=(_sub("src1", "suspended"), _sub("az1", "active")),
    )
    done = model.LiveTransfer(
        "tr-1",
        model.TransferStatus.COMPLETED,
        "d",
        "t",
        NOW,
        None,
        (model.LiveTransferLine("az1", order_id="o-1"),),
    )
    pending = dataclasses.replace(done, status=model.TransferStatus.PENDING)
    for transfers, moved in (((), "0/1"), ((pending,), "0/1"), ((done,), "1/1")):
        target = model.CustomerView(CUST, model.ReadStatus.OK, transfers=transfers)
        (row,) = verify.states(state, _live(target, source), {CUST})
        assert row.azure_handed_off == moved
