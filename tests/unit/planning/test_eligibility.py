"""Each rule that keeps a new-commerce pair from moving by transfer (issue 12 point 1/3): the
pair falls back to re-provisioning and the plan says why; real problems also warn. Never a
failed apply: nothing is requested that Partner Center would refuse."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import livesubs
import pytest

from reconciler import model
from reconciler.planning import actions, eligibility, planner

A = actions.Action
R = actions.Route
S = actions.Strategy
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORIGIN = model.Origin("customers/c.yaml", 3)
BASIC = "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
E3 = "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R"
CID = "3f2c6d55-0000-4000-8000-00000000c001"
TARGET = model.Tenant("central", "0f6a1b8e-0000-4000-8000-000000000001", "IE", model.Role.TARGET)
DE = model.Tenant("de", "0f6a1b8e-0000-4000-8000-0000000000de", "DE", model.Role.SOURCE)


def sid(n: int) -> str:
    return f"5b1e0a40-0000-4000-8000-{n:012x}"


def nce(n: int, offer: str = BASIC, *, seats: int = 10, product_type: str | None = None):
    return livesubs.nce_license(
        sid(n), offer, seats, NOW - timedelta(days=200), product_type=product_type
    )


def entry(key: str, replaced: list[int], *, offer: str = BASIC, seats: int = 10, becomes=None):
    return model.DesiredSubscription(
        key=key,
        offer_id=offer,
        commerce=model.CommerceModel.NCE_LICENSE,
        quantity=seats,
        billing_cycle="monthly",
        term_duration="P1Y",
        friendly_name=None,
        replaces=tuple(
            model.Replacement(sid(n), becomes or model.SourceStrategy.AUTO, ORIGIN)
            for n in replaced
        ),
        protect=False,
        origin=ORIGIN,
    )


def plan(
    entries: list[model.DesiredSubscription],
    sources: list[model.LiveSubscription],
    *,
    target_country: str = "IE",
    target_subs: tuple[model.LiveSubscription, ...] = (),
    policy: model.Policy | None = None,
) -> actions.Plan:
    target = dataclasses.replace(TARGET, country=target_country)
    customer = model.DesiredCustomer(
        CID, "Contoso Ltd", "contoso.example", "de", False, tuple(entries), (), ORIGIN
    )
    cons = model.Consolidation("c", target, (DE,), policy or model.Policy(), ORIGIN)
    views = {
        "central": model.TenantView(
            target,
            MappingProxyType(
                {
                    CID: model.CustomerView(
                        CID, model.ReadStatus.OK, subscriptions=target_subs, transfers=()
                    )
                }
            ),
        ),
        "de": model.TenantView(
            DE,
            MappingProxyType(
                {CID: model.CustomerView(CID, model.ReadStatus.OK, subscriptions=tuple(sources))}
            ),
        ),
    }
    live = model.LiveState(NOW, MappingProxyType(views))
    state = model.DesiredState(cons, (customer,), "sha256:x")
    return planner.build_plan(state, live, now=NOW, tool_version="t")


def strategy_of(p: actions.Plan, n: int) -> actions.PairStrategy:
    [found] = [s for s in p.strategies if s.subscription_id == sid(n)]
    return found


def warnings(p: actions.Plan, code: str) -> list[str]:
    return [d.message for d in p.diagnostics if d.code == code]


def test_eligible_new_commerce_moves_by_transfer_and_nothing_is_bought():
    p = plan([entry("basic", [1])], [nce(1)])
    assert [c.action for c in p.changes] == [
        A.TRANSFER,
        A.ACCEPT,
    ]  # transferAcceptance: apply (default)
    s = strategy_of(p, 1)
    assert (s.route, s.action) == (R.TRANSFER, None)
    assert [r.route for r in s.rejected] == [R.REPROVISION]
    assert not p.diagnostics


def test_different_regions_fall_back_to_re_provisioning_with_a_warning():
    p = plan([entry("basic", [1])], [nce(1)], target_country="US")
    assert A.TRANSFER not in {c.action for c in p.changes}
    assert A.CREATE in {c.action for c in p.changes}
    s = strategy_of(p, 1)
    assert s.route is R.REPROVISION and s.action is S.EXPIRE
    assert "different Partner Center regions" in s.why and "(DE, Europe)" in s.why
    assert "(US, United States)" in s.rejected[0].why
    [warning] = warnings(p, "transfer-ineligible")
    assert sid(1) in warning and "re-provisioned instead" in warning


def test_an_explicit_transfer_across_regions_falls_back_too():
    p = plan(
        [entry("basic", [1], becomes=model.SourceStrategy.TRANSFERRED)],
        [nce(1)],
        target_country="BR",
    )
    assert A.TRANSFER not in {c.action for c in p.changes}
    assert "the manifest says becomes: transferred, but a transfer cannot move it" in (
        strategy_of(p, 1).why
    )
    assert warnings(p, "transfer-ineligible")


def test_a_country_outside_the_region_map_is_not_decided_but_warned():
    p = plan([entry("basic", [1])], [nce(1)], target_country="JP")
    assert strategy_of(p, 1).route is R.TRANSFER
    [warning] = warnings(p, "transfer-region-unchecked")
    assert "JP is not in the tool's country map" in warning


def test_same_country_and_same_region_are_fine():
    assert eligibility.region_problem(DE, dataclasses.replace(TARGET, country="DE")) == ("", True)
    assert eligibility.region_problem(DE, TARGET) == ("", True)  # DE and IE: Europe
    assert eligibility.region_of("gb") == "Europe" and eligibility.region_of("ZZ") is None


@pytest.mark.parametrize(
    ("product_type", "words"),
    [
        ("Azure/Reservation", "reservations do not transfer (Partner Center answers 900145)"),
        ("AzureReservation", "reservations do not transfer"),
        ("SaaS", "third-party marketplace items do not transfer (Partner Center answers 900146)"),
    ],
)
def test_reservations_and_marketplace_items_fall_back(product_type, words):
    p = plan([entry("basic", [1])], [nce(1, product_type=product_type)])
    s = strategy_of(p, 1)
    assert s.route is R.REPROVISION and words in s.why
    assert warnings(p, "transfer-ineligible")


def test_more_than_300_subscriptions_transfer_only_the_first_300():
    n = eligibility.MAX_TRANSFERS_PER_CUSTOMER + 2
    p = plan([entry(f"k{i}", [i]) for i in range(1, n + 1)], [nce(i) for i in range(1, n + 1)])
    routes = [strategy_of(p, i).route for i in range(1, n + 1)]
    assert routes.count(R.TRANSFER) == 300 and routes.count(R.REPROVISION) == 2
    assert "over Microsoft's limit of 300" in strategy_of(p, n).why
    assert len(warnings(p, "transfer-ineligible")) == 2
    # And far more than one request carries: said once per source tenant.
    [lines] = warnings(p, "transfer-lines")
    assert "300 subscriptions move from de by transfer" in lines


def test_target_already_held_merged_sources_and_another_product_fall_back_quietly():
    held = dataclasses.replace(nce(90, E3, seats=10), friendly_name="x [rc:e3]")
    p = plan(
        [
            entry("e3", [1], offer=E3),
            entry("merged", [2, 3], seats=20),
            entry("other", [4], offer=E3),
        ],
        [nce(1, E3), nce(2), nce(3), nce(4)],
        target_subs=(held,),
    )
    assert "the target already holds" in strategy_of(p, 1).why
    assert "merges 2 source subscriptions into one" in strategy_of(p, 2).why
    assert "wants CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R and the source is" in strategy_of(p, 4).why
    assert all(strategy_of(p, i).route is R.REPROVISION for i in (1, 2, 3, 4))
    assert A.TRANSFER not in {c.action for c in p.changes}
    assert not warnings(p, "transfer-ineligible")  # facts of the pair, not problems


def test_re_provision_policy_never_transfers():
    p = plan([entry("basic", [1])], [nce(1)], policy=model.Policy(move_by=model.MoveBy.REPROVISION))
    assert A.TRANSFER not in {c.action for c in p.changes}
    assert strategy_of(p, 1).rejected[0].why == "the policy says moveBy: re-provision"


def test_a_policy_setting_nce_strategy_without_move_by_is_warned():
    policy = model.Policy(nce_strategy_without_move_by="consolidation.yaml:30")
    [warning] = warnings(plan([entry("basic", [1])], [nce(1)], policy=policy), "policy-move-by")
    assert "consolidation.yaml:30" in warning and "moveBy: re-provision" in warning
