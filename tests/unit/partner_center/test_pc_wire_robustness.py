"""Wire robustness (issue 12 point 4): bodies behind a UTF-8 BOM parse everywhere we read
Partner Center or token JSON; code 2055 ("Etag is no longer valid") is a conflict at any
status, resolved by reading again; unknown fields and enum values on reads are tolerated."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
from pc_fakes import API

from reconciler import model
from reconciler.partner_center import assertions, http, msalhttp, wire
from reconciler.partner_center import client as pc_client
from reconciler.partner_center import errors as api_errors
from reconciler.partner_center import writer as pc_writer

BOM = b"\xef\xbb\xbf"
SUB = f"{API}/v1/customers/c1/subscriptions/s1"
JSON = {"Content-Type": "application/json; charset=utf-8"}


def _bom(doc: Any) -> bytes:
    return BOM + json.dumps(doc).encode("utf-8")


def _sub(**fields: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "id": "s1",
        "offerId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
        "quantity": 10,
        "status": "active",
        "autoRenewEnabled": True,
        "billingCycle": "monthly",
        "attributes": {"etag": "e-1", "objectType": "Subscription"},
    }
    doc.update(fields)
    return doc


# ------------------------------------------------------------------------------------- BOM


def test_a_body_behind_a_bom_parses(
    mocked: responses.RequestsMock, make_transport: Callable[..., http.Transport]
) -> None:
    mocked.get(f"{API}/v1/customers/c1", body=_bom({"id": "c1", "é": "ü"}), headers=JSON)
    assert make_transport().call("GET", "/customers/c1").body == {"id": "c1", "é": "ü"}


def test_a_bom_without_a_declared_charset_parses_too(
    mocked: responses.RequestsMock, make_transport: Callable[..., http.Transport]
) -> None:
    mocked.get(f"{API}/v1/customers/c1", body=_bom({"id": "c1"}), content_type="text/plain")
    assert make_transport().call("GET", "/customers/c1").body == {"id": "c1"}


def test_an_error_body_behind_a_bom_keeps_its_code(
    mocked: responses.RequestsMock, make_transport: Callable[..., http.Transport]
) -> None:
    body = _bom({"code": 20003, "description": "Subscription not found", "source": "PartnerFD"})
    mocked.get(SUB, status=404, body=body, headers=JSON)
    with pytest.raises(api_errors.ApiNotFound) as caught:
        make_transport().call("GET", "/customers/c1/subscriptions/s1")
    assert caught.value.code == 20003 and "\ufeff" not in str(caught.value)


def test_the_token_service_client_hands_msal_a_bom_free_text(
    mocked: responses.RequestsMock,
) -> None:
    url = "https://login.test/t1/oauth2/v2.0/token"
    mocked.post(url, body=_bom({"access_token": "x", "expires_in": 3600}), headers=JSON)
    client = msalhttp.MsalHttpClient(http.new_session(), verify=True, timeout=5)
    resp = client.post(url, data={"grant_type": "client_credentials"})
    assert json.loads(resp.text) == {"access_token": "x", "expires_in": 3600}


def test_a_github_oidc_token_behind_a_bom_is_read(mocked: responses.RequestsMock) -> None:
    url = "https://gh.test/token"
    mocked.get(url, body=_bom({"value": "jwt-1"}), headers=JSON)
    fetch = assertions.github_oidc_assertion(
        url, "req-token", session=requests.Session(), verify=True
    )
    assert fetch() == "jwt-1"


# -------------------------------------------------------------------------------- 2055


@pytest.mark.parametrize("status", [400, 409, 412, 500])
def test_code_2055_is_a_conflict_at_any_status(status: int) -> None:
    body = json.dumps({"code": 2055, "description": "Etag is no longer valid"})
    err = api_errors.from_response(status, body, method="PATCH", path="/v1/customers/c/x")
    assert type(err) is api_errors.ApiConflict


def test_a_400_2055_whose_change_is_visible_on_a_fresh_read_is_a_success(
    mocked: responses.RequestsMock, make_client: Callable[..., pc_client.PartnerCenterClient]
) -> None:
    mocked.get(SUB, json=_sub())
    mocked.patch(SUB, status=400, json={"code": 2055, "description": "Etag is no longer valid"})
    mocked.get(SUB, json=_sub(status="suspended", autoRenewEnabled=False))
    done = make_client().update_subscription("c1", "s1", {"status": "suspended"}, request_id="r")
    assert done["status"] == "suspended"
    assert [c.request.method for c in mocked.calls] == ["GET", "PATCH", "GET"]


def test_a_400_2055_whose_change_is_not_visible_is_a_conflict_not_a_refusal(
    mocked: responses.RequestsMock, make_client: Callable[..., pc_client.PartnerCenterClient]
) -> None:
    mocked.get(SUB, json=_sub())
    mocked.patch(SUB, status=400, json={"code": 2055, "description": "Etag is no longer valid"})
    mocked.get(SUB, json=_sub(quantity=11))  # someone else changed it meanwhile
    with pytest.raises(api_errors.ApiConflict):
        make_client().update_subscription("c1", "s1", {"status": "suspended"}, request_id="r")
    # Nothing is sent again on our side: the step fails and the next plan re-reads.
    assert [c.request.method for c in mocked.calls] == ["GET", "PATCH", "GET"]


# ----------------------------------------------------------- unknown fields and enum values


def test_unknown_fields_and_enum_values_on_a_subscription_are_tolerated() -> None:
    doc = _sub(
        status="pendingCancellation",  # not in the documented enum
        billingType="subscription_billing",
        productType={"id": "OnlineServicesNCE2027", "displayName": "x", "subType": "new"},
        renewalMode="something-new",
        unknownObject={"nested": [1, 2, {"deeper": True}]},
        termDuration="P2Y",
    )
    live = wire.to_live_subscription(doc)
    assert live.status is model.SubscriptionStatus.UNKNOWN
    assert live.quantity == 10 and live.auto_renew is True and live.term_duration == "P2Y"
    sub = pc_writer.to_sub(doc)
    assert sub.status is model.SubscriptionStatus.UNKNOWN and sub.id == "s1"


def test_unknown_fields_in_an_order_list_do_not_hide_a_marked_order() -> None:
    class Client:
        name = "central"

        def list_orders(self, customer_id: str) -> list[dict[str, Any]]:
            return [
                {
                    "id": "o1",
                    "status": "pending po upload",  # a status added in 2023
                    "transactionType": "SomethingNew",
                    "lineItems": [
                        {
                            "lineItemNumber": 0,
                            "friendlyName": "BB [rc:bb]",
                            "subscriptionId": "S-1",
                            "unknown": {"x": 1},
                        }
                    ],
                    "futureField": [None],
                }
            ]

    writer = pc_writer.ClientWriter({"central": Client()}, [])  # type: ignore[dict-item]
    found = writer.find_order_by_name("central", "c1", "BB [rc:bb]")
    assert found is not None and found.order_id == "o1"


def test_a_collection_with_unknown_envelope_fields_is_read(
    mocked: responses.RequestsMock, make_client: Callable[..., pc_client.PartnerCenterClient]
) -> None:
    body = {
        "totalCount": 1,
        "items": [_sub(newField=1)],
        "links": {"self": {"uri": "/x"}},
        "continuationHints": {"whatever": True},
        "attributes": {"objectType": "Collection", "newAttribute": "y"},
    }
    mocked.get(f"{API}/v1/customers/c1/subscriptions", json=body)
    subs = make_client().list_subscriptions("c1")
    assert [wire.to_live_subscription(s).id for s in subs] == ["s1"]
