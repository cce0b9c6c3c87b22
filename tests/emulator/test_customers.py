"""Customers: seek paging with continuation tokens, filtering, visibility through
relationships, invitations, the documented envelope and headers."""

from __future__ import annotations

from typing import Any

from conftest import CENTRAL, DE, FABRIKAM, NORTHWIND, World, new_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _world(customers: int) -> dict[str, Any]:
    partner = {
        "name": "p",
        "tenantId": DE,
        "country": "DE",
        "apps": [
            {
                "clientId": "a1a1c0de-0000-4000-8000-0000000000de",
                "clientSecret": "emulator-secret-de",
            }
        ],
    }
    docs = [
        {
            "tenantId": f"3f2c6d55-0000-4000-8000-{i:012d}",
            "companyName": f"Co {i:03d}",
            "domain": f"co{i}.onmicrosoft.com",
            "relationships": ["p"],
        }
        for i in range(customers)
    ]
    return {"format": "reconciler-emulator-world/1", "partners": [partner], "customers": docs}


def _follow(world: World, first: str) -> tuple[list[str], int]:
    api = world.api("de")
    reply = api.get(first)
    ids, pages = [], 0
    while True:
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["attributes"]["objectType"] == "Collection"
        assert body["totalCount"] == len(body["items"])
        ids += [c["id"] for c in body["items"]]
        pages += 1
        nxt = body["links"].get("next")
        if nxt is None:
            return ids, pages
        assert not nxt["uri"].startswith("/v1")
        headers = {h["key"]: h["value"] for h in nxt["headers"]}
        assert "MS-ContinuationToken" in headers
        reply = api.call("GET", nxt["uri"], **headers)


def test_the_customer_list_pages_with_continuation_tokens(world: World) -> None:
    world.emu.control.reset(_world(57))
    world.emu.control.set_limits(page_size=5)
    ids, pages = _follow(world, "/customers?size=5")
    assert pages == 12
    assert ids == [f"3f2c6d55-0000-4000-8000-{i:012d}" for i in range(57)]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(customers=st.integers(min_value=0, max_value=30), size=st.integers(min_value=1, max_value=9))
def test_paging_returns_every_customer_exactly_once(
    world: World, customers: int, size: int
) -> None:
    world.emu.control.reset(_world(customers))
    ids, pages = _follow(world, f"/customers?size={size}")
    assert sorted(ids) == sorted(f"3f2c6d55-0000-4000-8000-{i:012d}" for i in range(customers))
    assert pages == max(1, -(-customers // size))


def test_size_above_the_page_size_is_clamped_and_no_size_uses_the_default(world: World) -> None:
    world.emu.control.reset(_world(9))
    world.emu.control.set_limits(page_size=4)
    assert len(world.api("de").get("/customers?size=100").json()["items"]) == 4
    assert len(world.api("de").get("/customers").json()["items"]) == 4


def test_next_without_a_continuation_token_is_a_400(world: World) -> None:
    reply = world.api("de").get("/customers?size=2&seekOperation=Next")
    assert reply.status_code == 400 and reply.json()["code"] == 800002


def test_filter_starts_with_is_case_insensitive(world: World) -> None:
    flt = '{"Field":"CompanyName","Value":"north","Operator":"starts_with"}'
    body = world.api("de").get(f"/customers?size=10&filter={flt}").json()
    assert [c["companyProfile"]["companyName"] for c in body["items"]] == ["Northwind Traders AG"]
    flt = '{"Field":"Domain","Value":"FABRIKAM","Operator":"starts_with"}'
    assert world.api("de").get(f"/customers?filter={flt}").json()["items"][0]["id"] == FABRIKAM


def test_list_items_are_slim_and_get_by_id_is_full(world: World) -> None:
    item = next(c for c in world.api("de").get("/customers").json()["items"] if c["id"] == FABRIKAM)
    assert item["companyProfile"] == {
        "tenantId": FABRIKAM,
        "domain": "fabrikam.onmicrosoft.com",
        "companyName": "Fabrikam GmbH",
        "links": {
            "self": {
                "uri": f"/customers/{FABRIKAM}/profiles/company",
                "method": "GET",
                "headers": [],
            }
        },
        "attributes": {"objectType": "CustomerCompanyProfile"},
    }
    assert "allowDelegatedAccess" not in item and item["relationshipToPartner"] == "reseller"
    full = world.api("de").get(f"/customers/{FABRIKAM}").json()
    assert "allowDelegatedAccess" in full and full["billingProfile"]["defaultAddress"]
    assert full["links"]["self"]["uri"] == f"/customers/{FABRIKAM}"


def test_customers_are_visible_only_through_a_relationship(world: World) -> None:
    central = world.api("central")
    assert central.get("/customers").json()["items"] == []
    denied = central.get(f"/customers/{FABRIKAM}")
    assert denied.status_code == 403
    assert denied.json() == {
        "code": 20002,
        "description": denied.json()["description"],
        "data": [],
        "source": "PartnerFD",
    }
    assert central.get(f"/customers/{FABRIKAM}/subscriptions").status_code == 403
    world.accept(FABRIKAM)
    assert [c["id"] for c in central.get("/customers").json()["items"]] == [FABRIKAM]
    assert central.get(f"/customers/{FABRIKAM}").status_code == 200
    # The new relationship does not reveal the source's subscriptions.
    assert central.get(f"/customers/{FABRIKAM}/subscriptions").json()["items"] == []
    snap = world.emu.control.snapshot()
    fabrikam = next(c for c in snap["customers"] if c["tenantId"] == FABRIKAM)
    assert fabrikam["relationships"] == ["central", "de"] and fabrikam["invitations"] == []


def test_accepting_twice_is_harmless_and_reported(world: World) -> None:
    first = world.control("POST", f"/customers/{NORTHWIND}/accept-invitation", partner="central")
    again = world.control("POST", f"/customers/{NORTHWIND}/accept-invitation", partner=CENTRAL)
    assert (first["created"], again["created"]) == (True, False)


def test_unknown_and_malformed_customer_ids(world: World) -> None:
    missing = world.api("de").get("/customers/3f2c6d55-0000-4000-8000-0000000000ff")
    assert missing.status_code == 404 and missing.json()["code"] == 60003
    bad = world.api("de").get("/customers/not-a-guid")
    assert bad.status_code == 400 and bad.json()["code"] == 900118


def test_request_and_correlation_ids_are_echoed(world: World) -> None:
    rid, cid = new_id(), new_id()
    reply = world.api("de").get("/customers", MS_RequestId=rid, MS_CorrelationId=cid)
    assert reply.headers["MS-RequestId"] == rid and reply.headers["MS-CorrelationId"] == cid
    assert reply.headers["MS-CV"] and reply.headers["Content-Type"].startswith("application/json")
    assert world.api("de").get("/customers").headers["MS-RequestId"]  # generated when absent


def test_unknown_routes_and_methods(world: World) -> None:
    assert world.api("de").get("/nothing/here").json()["code"] == 1000
    reply = world.api("de").call("DELETE", f"/customers/{FABRIKAM}")
    assert reply.status_code == 405


def test_customer_ids_compare_case_insensitively(world: World) -> None:
    assert world.api("de").get(f"/customers/{FABRIKAM.upper()}").status_code == 200
    assert world.api("de").get(f"/customers/{DE}").status_code == 404


def test_customer_profiles_and_partner_profiles(world: World) -> None:
    api = world.api("de")
    company = api.get(f"/customers/{FABRIKAM}/profiles/company").json()
    assert company["attributes"]["objectType"] == "CustomerCompanyProfile"
    assert company["companyName"] == "Fabrikam GmbH"
    billing = api.get(f"/customers/{FABRIKAM}/profiles/billing").json()
    assert billing["attributes"]["objectType"] == "CustomerBillingProfile"
    delegated = world.api("de", delegated=True)
    mpn = delegated.get("/profiles/mpn").json()
    assert mpn["profileType"] == "MpnProfile" and mpn["mpnId"] == "6100002"
    assert delegated.get("/profiles/mpn?mpnId=6100001").json()["partnerName"] == (
        "Contoso EMEA Central CSP"
    )
    missing = delegated.get("/profiles/mpn?mpnId=999")
    assert missing.status_code == 404 and missing.json()["code"] == 3000
    assert api.get("/profiles/mpn").json()["code"] == 900329
