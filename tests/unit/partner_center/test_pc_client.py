"""Typed client operations: paging, full-resource PATCH (no If-Match) and 202 polling, carts,
transfers and the invitation URL."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import responses
from pc_fakes import API, FakeTime

from reconciler import errors
from reconciler.partner_center import client as pc_client
from reconciler.partner_center import errors as api_errors

Make = Callable[..., pc_client.PartnerCenterClient]
SUB = f"{API}/v1/customers/c1/subscriptions/s1"


def _sub(**fields: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "id": "s1",
        "offerId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
        "quantity": 10,
        "status": "active",
        "autoRenewEnabled": True,
        "billingCycle": "monthly",
        "links": {"self": {"uri": "/customers/c1/subscriptions/s1"}},
        "attributes": {"etag": "e-1", "objectType": "Subscription"},
    }
    doc.update(fields)
    return doc


def test_customer_paging_follows_next_links_and_copies_their_headers(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    page = {
        "uri": "/customers?size=2&seekOperation=Next",
        "method": "GET",
        "headers": [{"key": "MS-ContinuationToken", "value": "tok-2"}],
    }
    mocked.get(
        f"{API}/v1/customers?size=2",
        match=[responses.matchers.query_string_matcher("size=2")],
        json={"items": [{"id": "A"}, {"id": "b"}], "links": {"next": page}},
    )
    mocked.get(
        f"{API}/v1/customers",
        match=[
            responses.matchers.query_string_matcher("size=2&seekOperation=Next"),
            responses.matchers.header_matcher({"MS-ContinuationToken": "tok-2"}),
        ],
        json={"items": [{"id": "c"}], "links": {}},
    )
    ids = [c["id"] for c in make_client().list_customers(page_size=2)]
    assert ids == ["A", "b", "c"]
    assert len(mocked.calls) == 2


def test_a_next_link_loop_is_an_error_not_an_endless_read(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    loop = {"uri": "/customers?size=2&seek=1", "headers": []}
    mocked.get(f"{API}/v1/customers", json={"items": [{"id": "a"}], "links": {"next": loop}})
    with pytest.raises(errors.WireFormatError, match="repeats a page"):
        list(make_client().list_customers(page_size=2))


def test_update_sends_the_full_resource_without_if_match(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    # Microsoft's .NET SDK sends no If-Match on a subscription PATCH
    # (Source/PartnerSDK/Subscriptions/SubscriptionOperations.cs, PatchAsync): the fresh GET
    # right before the PATCH is what keeps it safe, never the etag.
    mocked.get(SUB, json=_sub())
    mocked.patch(SUB, json=_sub(status="suspended", autoRenewEnabled=False))
    result = make_client().update_subscription(
        "c1", "s1", {"status": "suspended"}, request_id="rid-s"
    )
    assert result["status"] == "suspended"
    patch = mocked.calls[1].request
    body = json.loads(patch.body)
    assert body["status"] == "suspended"
    assert body["autoRenewEnabled"] is True and body["quantity"] == 10  # nothing dropped
    assert "links" not in body
    assert "If-Match" not in patch.headers
    assert patch.headers["MS-RequestId"] == "rid-s"


def test_update_that_is_already_done_sends_nothing(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.get(SUB, json=_sub(status="Suspended"))
    make_client().update_subscription("c1", "s1", {"status": "suspended"}, request_id="r")
    assert [c.request.method for c in mocked.calls] == ["GET"]


def test_update_with_the_current_document_sends_only_the_patch(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    """The document the caller's re-check has just read is the PATCH body's base: no GET of
    the same state again, and still nothing of it dropped."""
    mocked.patch(SUB, json=_sub(status="suspended", autoRenewEnabled=False))
    current = _sub(quantity=7)
    result = make_client().update_subscription(
        "c1", "s1", {"status": "suspended"}, request_id="rid-s", current=current
    )
    assert result["status"] == "suspended"
    assert [c.request.method for c in mocked.calls] == ["PATCH"]
    body = json.loads(mocked.calls[0].request.body)
    assert body["status"] == "suspended" and body["quantity"] == 7
    assert body["autoRenewEnabled"] is True and "links" not in body
    assert current["status"] == "active"  # the caller's document is left as it was


def test_update_with_a_current_document_already_showing_the_change_sends_nothing(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    make_client().update_subscription(
        "c1", "s1", {"status": "suspended"}, request_id="r", current=_sub(status="suspended")
    )
    assert len(mocked.calls) == 0


def test_update_with_another_subscriptions_document_reads_its_own(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.get(SUB, json=_sub(quantity=10))
    mocked.patch(SUB, json=_sub(quantity=12))
    make_client().update_subscription(
        "c1", "s1", {"quantity": 12}, request_id="r", current=_sub(id="s2", quantity=3)
    )
    assert [c.request.method for c in mocked.calls] == ["GET", "PATCH"]
    assert json.loads(mocked.calls[1].request.body)["quantity"] == 12


def test_conflict_after_a_patch_from_the_current_document_is_read_again(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    """Someone changed the subscription after the caller read it: Partner Center answers
    2055; the client reads it again, the change is not there, and the conflict stands."""
    mocked.patch(
        SUB,
        status=400,
        json={"code": 2055, "description": "Etag is no longer valid; read it again."},
    )
    mocked.get(SUB, json=_sub(quantity=30))
    with pytest.raises(api_errors.ApiConflict):
        make_client().update_subscription(
            "c1", "s1", {"status": "suspended"}, request_id="r", current=_sub()
        )
    assert [c.request.method for c in mocked.calls] == ["PATCH", "GET"]


def test_accepted_update_is_polled_until_visible(
    mocked: responses.RequestsMock, make_client: Make, fake_time: FakeTime
) -> None:
    mocked.get(SUB, json=_sub())
    mocked.patch(SUB, status=202, headers={"Location": "/customers/c1/subscriptions/s1"})
    mocked.get(SUB, json=_sub())
    mocked.get(SUB, json=_sub(quantity=12))
    result = make_client(poll_interval=5).update_subscription(
        "c1", "s1", {"quantity": 12}, request_id="r"
    )
    assert result["quantity"] == 12
    assert fake_time.sleeps == [5, 5]


def test_accepted_update_that_never_shows_is_unknown(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.get(SUB, json=_sub())
    mocked.patch(SUB, status=202, headers={"Location": "/customers/c1/subscriptions/s1"})
    with pytest.raises(api_errors.UnknownOutcome):
        make_client(poll_attempts=3).update_subscription(
            "c1", "s1", {"quantity": 12}, request_id="r"
        )


def test_patch_timeout_whose_change_did_happen_is_a_success(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    import requests

    mocked.get(SUB, json=_sub())
    for _ in range(3):
        mocked.patch(SUB, body=requests.ReadTimeout("lost"))
    mocked.get(SUB, json=_sub(status="suspended"))
    result = make_client().update_subscription("c1", "s1", {"status": "suspended"}, request_id="r")
    assert result["status"] == "suspended"


def test_checkout_surfaces_order_errors(mocked: responses.RequestsMock, make_client: Make) -> None:
    mocked.post(
        f"{API}/v1/customers/c1/carts/k1/checkout",
        status=201,
        json={
            "orders": [{"id": "o1"}],
            "orderErrors": [{"orderGroupId": "1", "code": 800002, "description": "bad"}],
        },
    )
    result = make_client().checkout_cart("c1", "k1", request_id="r")
    assert [o["id"] for o in result["orders"]] == ["o1"]
    assert result["orderErrors"][0]["code"] == 800002


def test_create_cart_numbers_line_items(mocked: responses.RequestsMock, make_client: Make) -> None:
    mocked.post(f"{API}/v1/customers/c1/carts", status=201, json={"id": "k1", "status": "Active"})
    make_client().create_cart(
        "c1", [{"catalogItemId": "A"}, {"catalogItemId": "B"}], request_id="r"
    )
    body = json.loads(mocked.calls[0].request.body)
    assert [i["id"] for i in body["lineItems"]] == [0, 1]


def test_create_order_carries_customer_and_request_id(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.post(f"{API}/v1/customers/c1/orders", status=201, json={"id": "o1"})
    make_client().create_order("c1", {"lineItems": []}, request_id="rid-o")
    req = mocked.calls[0].request
    assert json.loads(req.body)["referenceCustomerId"] == "c1"
    assert req.headers["MS-RequestId"] == "rid-o"


def test_transfer_falls_back_to_type_3_on_a_400(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    url = f"{API}/v1/customers/c1/transfers"
    mocked.post(url, status=400, json={"code": 0, "description": "bad transferType"})
    mocked.post(url, status=201, json={"id": "t1", "status": "InProgress"})
    t = make_client().create_transfer("c1", {"sourcePartnerTenantId": "p"}, request_id="r1")
    assert t["id"] == "t1"
    types = [json.loads(c.request.body)["transferType"] for c in mocked.calls]
    assert types == [5, 3]
    ids = [c.request.headers["MS-RequestId"] for c in mocked.calls]
    assert ids[0] == "r1" and ids[1] != "r1"


def test_cancel_transfer_patches_status_cancel(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    url = f"{API}/v1/customers/c1/transfers/t1"
    mocked.get(url, json={"id": "t1", "status": "InProgress", "sourcePartnerTenantId": "p"})
    mocked.patch(url, json={"id": "t1", "status": "Canceled"})
    make_client().cancel_transfer("c1", "t1", request_id="r")
    body = json.loads(mocked.calls[1].request.body)
    assert body["status"] == "Cancel" and body["sourcePartnerTenantId"] == "p"


def test_invitation_url_needs_a_delegated_sign_in(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    with pytest.raises(api_errors.ApiNeedsUser, match="reconciler login"):
        make_client().get_invitation_url()
    mocked.get(f"{API}/v1/customers/relationshiprequests", json={"url": "https://inv/x"})
    assert make_client(delegated=True).get_invitation_url() == "https://inv/x"
