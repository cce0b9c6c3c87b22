"""Never buy what the customer already holds (product-aware matching, planning.products).

A target subscription of the wanted product, under any offer of its family (another
availability, a legacy offer the Offers entry replaces) and any term or billing cycle, is
adopted instead of bought; ambiguity is a problem; only ``adopt: never`` buys anew, with a
warning. Property tests over generated target tenants, then the wording of single cases.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import model
from reconciler.planning import actions, matching, planner, products

A = actions.Action
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORIGIN = model.Origin("gen.yaml", 1)
TARGET = model.Tenant("central", "0f6a1b8e-0000-4000-8000-000000000001", "IE", model.Role.TARGET)
SOURCE = model.Tenant("de", "0f6a1b8e-0000-4000-8000-0000000000de", "DE", model.Role.SOURCE)
CUSTOMER = "3f2c6d55-0000-4000-8000-00000000c001"

E3_LEGACY = "796B6B5F-613C-4E24-A17C-EBA730D49C02"
E3_NCE = "CFQ7TTC0LF8Q:0001"
EXO_NCE = "CFQ7TTC0LH16:0001"
#: Each family: the offer the manifest buys, and every offer id a held subscription may carry.
FAMILIES = {
    "e3": (
        f"{E3_NCE}:CFQ7TTC0HD0R",
        (f"{E3_NCE}:CFQ7TTC0HD0R", f"{E3_NCE}:CFQ7TTC0ZZZZ", E3_LEGACY),
    ),
    "exo": (f"{EXO_NCE}:CFQ7TTC0HD1G", (f"{EXO_NCE}:CFQ7TTC0HD1G", f"{EXO_NCE}:CFQ7TTC0Q111")),
}
OFFERS = MappingProxyType(
    {
        "e3": model.Offer(
            "e3", FAMILIES["e3"][0], "Office 365 E3", model.CommerceModel.NCE_LICENSE, (E3_LEGACY,)
        ),
        "exo": model.Offer(
            "exo", FAMILIES["exo"][0], "Exchange Online (Plan 1)", model.CommerceModel.NCE_LICENSE
        ),
    }
)
S = model.SubscriptionStatus
LIVELY = (S.ACTIVE, S.PENDING, S.SUSPENDED)
TERMS = (("P1M", "monthly"), ("P1Y", "monthly"), ("P1Y", "annual"), ("P3Y", "annual"))


def guid(prefix: str, n: int) -> str:
    return f"{prefix}000000-0000-4000-8000-{n:012x}"


def held(
    sid: str, offer: str, quantity: int, status: model.SubscriptionStatus, term: tuple[str, str]
) -> model.LiveSubscription:
    commerce = model.classify_offer(offer)
    nce = commerce is model.CommerceModel.NCE_LICENSE
    created = NOW - timedelta(days=200)
    return model.LiveSubscription(
        id=sid,
        offer_id=offer.upper(),
        offer_name="Office 365 E3" if offer == E3_LEGACY else offer,
        friendly_name="bought by hand",
        quantity=quantity,
        status=status,
        commerce=commerce,
        billing_cycle=term[1],
        term_duration=term[0] if nce else None,
        auto_renew=True,
        creation_date=created,
        commitment_end_date=created + timedelta(days=365),
        cancellation_allowed_until=created + timedelta(days=7) if nce else None,
        refundable=(),
        order_id=None,
        etag=None,
    )


def wanted(key: str, family: str, quantity: int, adopt: bool, term: tuple[str, str]):
    offer = FAMILIES[family][0]
    return model.DesiredSubscription(
        key=key,
        offer_id=offer,
        commerce=model.CommerceModel.NCE_LICENSE,
        quantity=quantity,
        billing_cycle=term[1],
        term_duration=term[0],
        friendly_name=None,
        replaces=(),
        protect=False,
        origin=ORIGIN,
        offer_alias=family,
        adopt_existing=adopt,
    )


def world(
    desired: tuple[model.DesiredSubscription, ...], target: tuple[model.LiveSubscription, ...]
) -> tuple[model.DesiredState, model.LiveState]:
    customer = model.DesiredCustomer(
        CUSTOMER, "Fabrikam", "fabrikam.example", "de", False, desired, (), ORIGIN
    )
    cons = model.Consolidation("gen", TARGET, (SOURCE,), model.Policy(), ORIGIN, OFFERS)
    ok = model.ReadStatus.OK
    tenants = {
        "central": model.TenantView(
            TARGET,
            MappingProxyType({CUSTOMER: model.CustomerView(CUSTOMER, ok, subscriptions=target)}),
        ),
        "de": model.TenantView(
            SOURCE, MappingProxyType({CUSTOMER: model.CustomerView(CUSTOMER, ok)})
        ),
    }
    live = model.LiveState(NOW, MappingProxyType(tenants), "https://invite.example/x")
    return model.DesiredState(cons, (customer,), "sha256:x"), live


@st.composite
def worlds(draw) -> tuple[model.DesiredState, model.LiveState]:
    desired = tuple(
        wanted(
            f"k{i}",
            draw(st.sampled_from(sorted(FAMILIES))),
            draw(st.integers(1, 40)),
            draw(st.sampled_from([True] * 4 + [False])),
            draw(st.sampled_from(TERMS)),
        )
        for i in range(draw(st.integers(1, 3)))
    )
    target = tuple(
        held(
            guid("aa", i + 1),
            draw(st.sampled_from(FAMILIES[draw(st.sampled_from(sorted(FAMILIES)))][1])),
            draw(st.integers(1, 40)),
            draw(
                st.sampled_from(
                    [model.SubscriptionStatus.ACTIVE] * 5 + list(model.SubscriptionStatus)
                )
            ),
            draw(st.sampled_from(TERMS)),
        )
        for i in range(draw(st.integers(0, 3)))
    )
    return world(desired, target)


def plan(state: model.DesiredState, live: model.LiveState) -> actions.Plan:
    return planner.build_plan(state, live, now=NOW, tool_version="test")


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_no_purchase_of_a_held_product_unless_the_manifest_says_adopt_never(world):
    state, live = world
    result = plan(state, live)
    fam = products.families(OFFERS)
    desired = {d.key: d for d in state.customers[0].subscriptions}
    target = live.tenants["central"].customers[CUSTOMER].subscriptions
    existing = [s for s in target if s.status not in matching.GONE]
    adopted = {c.address.subscription_id for c in result.changes if c.address.subscription_id}
    for change in (*result.changes, *result.deferred):
        if change.action is not A.CREATE:
            continue
        ds = desired[change.address.key]
        same = [s for s in existing if fam.same_product(s.offer_id, ds.offer_id)]
        if ds.adopt_existing:
            # Buying while the product is held is only right when every held subscription of
            # it already serves another entry of this customer.
            assert all(s.id in adopted for s in same), (change, same)
        if same:
            assert any(d.code == "buys-held-product" for d in result.diagnostics)


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_a_single_held_subscription_of_the_product_is_adopted_not_bought(world):
    state, live = world
    fam = products.families(OFFERS)
    desired = state.customers[0].subscriptions
    target = live.tenants["central"].customers[CUSTOMER].subscriptions
    existing = [s for s in target if s.status not in matching.GONE]
    result = plan(state, live)
    if any(d.code == "ambiguous-match" for d in result.diagnostics):
        # Another entry's ambiguity stops the whole customer: nothing bought, nothing adopted.
        assert not result.changes and not result.deferred
        return
    for ds in desired:
        same = [s for s in existing if fam.same_product(s.offer_id, ds.offer_id)]
        rivals = [d for d in desired if fam.same_product(d.offer_id, ds.offer_id)]
        if len(same) != 1 or len(rivals) != 1 or not ds.adopt_existing:
            continue
        mine = [c for c in (*result.changes, *result.deferred) if c.address.key == ds.key]
        assert not any(c.action is A.CREATE for c in mine)
        if same[0].status not in LIVELY:  # adopted, but nothing can be done with it
            assert any(d.code == "target-status" for d in result.diagnostics)
            continue
        assert any(c.address.subscription_id == same[0].id for c in mine), mine
        resize = [c for c in mine if c.action is A.RESIZE]
        if same[0].quantity < ds.quantity:  # more seats can always be added
            assert [c.after["quantity"] for c in resize] == [ds.quantity]


def test_a_legacy_e3_in_the_target_is_adopted_and_resized_with_the_reason_in_the_plan():
    sid = guid("aa", 1)
    state, live = world(
        (wanted("e3", "e3", 25, True, ("P1Y", "monthly")),),
        (held(sid, E3_LEGACY, 20, model.SubscriptionStatus.ACTIVE, ("P1Y", "monthly")),),
    )
    result = plan(state, live)
    assert [c.action for c in result.changes] == [A.RESIZE]
    resize = result.changes[0]
    assert resize.address.subscription_id == sid
    assert resize.detail.startswith(
        f"adopted existing Office 365 E3 (legacy offer {E3_LEGACY}) {sid} instead of buying; "
        "set e3 from 20 to 25 seats"
    )
    codes = [d.code for d in result.diagnostics]
    assert "adopted-other-offer" in codes


def test_another_availability_of_the_same_sku_is_the_same_offer():
    sid = guid("aa", 1)
    state, live = world(
        (wanted("exo", "exo", 8, True, ("P1Y", "monthly")),),
        (
            held(
                sid,
                f"{EXO_NCE}:CFQ7TTC0Q111",
                8,
                model.SubscriptionStatus.ACTIVE,
                ("P1Y", "monthly"),
            ),
        ),
    )
    result = plan(state, live)
    assert [(c.action, c.address.subscription_id) for c in result.changes] == [(A.NOOP, sid)]
    assert result.diagnostics == ()


def test_another_term_is_adopted_and_the_renewal_change_is_explained():
    sid = guid("aa", 1)
    state, live = world(
        (wanted("exo", "exo", 8, True, ("P1Y", "annual")),),
        (held(sid, FAMILIES["exo"][0], 8, model.SubscriptionStatus.ACTIVE, ("P1M", "monthly")),),
    )
    result = plan(state, live)
    assert [c.action for c in result.changes] == [A.NOOP]
    (warning,) = [d for d in result.diagnostics if d.code == "adopted-other-term"]
    assert "changes only at renewal" in warning.message
    assert "P1M billed monthly" in warning.message


def test_two_held_candidates_are_a_problem_naming_both_not_a_purchase():
    a, b = guid("aa", 1), guid("aa", 2)
    active = model.SubscriptionStatus.ACTIVE
    state, live = world(
        (wanted("e3", "e3", 25, True, ("P1Y", "monthly")),),
        (
            held(a, E3_LEGACY, 20, active, ("P1Y", "monthly")),
            held(b, f"{E3_NCE}:CFQ7TTC0ZZZZ", 5, active, ("P1M", "monthly")),
        ),
    )
    result = plan(state, live)
    assert not any(c.action is A.CREATE for c in (*result.changes, *result.deferred))
    (problem,) = [d for d in result.diagnostics if d.code == "ambiguous-match"]
    assert a in problem.message and b in problem.message
    assert "adopt: never" in problem.message


def test_adopt_never_buys_anew_and_warns():
    sid = guid("aa", 1)
    state, live = world(
        (wanted("e3", "e3", 25, False, ("P1Y", "monthly")),),
        (held(sid, E3_LEGACY, 20, model.SubscriptionStatus.ACTIVE, ("P1Y", "monthly")),),
    )
    result = plan(state, live)
    assert [c.action for c in result.changes] == [A.CREATE]
    (warning,) = [d for d in result.diagnostics if d.code == "buys-held-product"]
    assert sid in warning.message and "adopt: never" in warning.message


def test_a_pin_to_another_offer_of_the_product_is_resized_not_refused():
    sid = guid("aa", 1)
    (ds,) = (
        world((wanted("e3", "e3", 25, True, ("P1Y", "monthly")),), ())[0].customers[0].subscriptions
    )
    pinned = dataclasses.replace(ds, target_subscription_id=sid)
    state, live = world(
        (pinned,), (held(sid, E3_LEGACY, 20, model.SubscriptionStatus.ACTIVE, ("P1Y", "monthly")),)
    )
    result = plan(state, live)
    assert [(c.action, c.after) for c in result.changes] == [(A.RESIZE, {"quantity": 25})]
    assert not any(d.code == "offer-mismatch" for d in result.diagnostics)


def test_product_keys_ignore_the_availability_and_families_follow_replaces():
    assert products.product_key("cfq7ttc0lf8q:0001:cfq7ttc0hd0r") == E3_NCE
    assert products.product_key(E3_LEGACY.lower()) == E3_LEGACY
    fam = products.families(OFFERS)
    assert fam.same_product(E3_LEGACY, f"{E3_NCE}:ANYTHING")
    assert not fam.same_product(E3_LEGACY, FAMILIES["exo"][0])
    assert fam.is_replaced_offer(FAMILIES["e3"][0], E3_LEGACY)
    assert not fam.is_replaced_offer(FAMILIES["e3"][0], f"{E3_NCE}:CFQ7TTC0ZZZZ")


def test_an_azure_plan_moved_under_a_reissued_availability_still_matches_its_hand_off():
    def azure(sid: str, offer: str) -> model.LiveSubscription:
        return dataclasses.replace(
            held(sid, offer, 1, model.SubscriptionStatus.ACTIVE, ("", "none")),
            commerce=model.CommerceModel.AZURE_PLAN,
            entitlement_id=None,
        )

    source = azure("5b1e0a40-0000-4000-8000-0000000000a1", "DZH318Z0BPS6:0001:DZH318Z0BML6")
    target = azure("7e1d0000-0000-4000-8000-0000000000a1", "DZH318Z0BPS6:0001:DZH318Z00001")
    handoff = model.AzureHandoff(
        key="plan",
        source_subscription_id=source.id,
        protect=False,
        origin=model.Origin("m.yaml", 1),
        source="de",
    )
    found, claimed = matching.match_azure([(handoff, source)], [target])
    assert found == {"plan": target} and claimed == {target.id}
