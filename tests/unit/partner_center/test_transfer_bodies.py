"""The transfer writes as they leave the machine, checked against the field tables of
Microsoft's "Create a transfer" and "Update a transfer" pages (TransferEntity and
TransferLineItem in "Transfer entity resources"): required fields present, names and casing
exact, nothing the plan did not name."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses
from pc_fakes import API

from reconciler import errors, model, writes
from reconciler.partner_center import client as pc_client
from reconciler.partner_center import writer as pc_writer

Make = Callable[..., pc_client.PartnerCenterClient]
TARGET = model.Tenant("central", "t-central", "IE", model.Role.TARGET, "Contoso Central")
SOURCE = model.Tenant("de", "t-de", "DE", model.Role.SOURCE, "Contoso Deutschland")
TRANSFERS = f"{API}/v1/customers/c1/transfers"

#: TransferEntity fields "Create a transfer" documents for the request body (camelCase as
#: Microsoft spells them) and the ones it marks required.
CREATE_FIELDS = {
    "id",
    "createdTime",
    "lastModifiedTime",
    "customerEmailId",
    "customerName",
    "customerTenantId",
    "partnerTenantId",
    "partnerIdOnRecord",
    "sourcePartnerName",
    "sourcePartnerTenantId",
    "status",
    "targetPartnerEmailId",
    "targetPartnerTenantId",
    "targetProductTypes",
    "transferType",
}
CREATE_REQUIRED = {"sourcePartnerTenantId", "sourcePartnerName", "customerEmailId"}
#: TransferLineItem fields (Transfer entity resources).
LINE_FIELDS = {
    "id",
    "subscriptionId",
    "quantity",
    "billingCycle",
    "friendlyName",
    "partnerIdOnRecord",
    "offerId",
    "addonItems",
    "transferError",
    "status",
    "productType",
}
PRODUCT_TYPES = {
    "AzureSubscription",
    "AzureReservation",
    "AzureSavingsPlan",
    "OnlineServicesNCE",
    "Software",
    "SaaS",
}


def _writer(make_client: Make) -> pc_writer.ClientWriter:
    clients = {"central": make_client(), "de": make_client()}
    return pc_writer.ClientWriter(clients, [TARGET, SOURCE])


def _profile(mocked: responses.RequestsMock, email: str = "billing@c1.example") -> None:
    mocked.get(f"{API}/v1/customers/c1/profiles/billing", json={"email": email})


def _sent(mocked: responses.RequestsMock, method: str) -> dict[str, Any]:
    [call] = [c for c in mocked.calls if c.request.method == method]
    return dict(json.loads(call.request.body))


NCE, AZURE_PLAN = model.CommerceModel.NCE_LICENSE, model.CommerceModel.AZURE_PLAN


@pytest.mark.parametrize(
    ("kinds", "products"),
    [
        ({NCE}, ["OnlineServicesNCE"]),
        ({AZURE_PLAN}, ["AzureSubscription"]),
        # One request from a source carries both (a second one while it is open is refused).
        ({AZURE_PLAN, NCE}, ["OnlineServicesNCE", "AzureSubscription"]),
        # A legacy license named becomes: transferred is asked for as licenses, as before.
        ({model.CommerceModel.LEGACY_LICENSE}, ["OnlineServicesNCE"]),
    ],
)
def test_create_sends_every_required_field_with_microsofts_names(
    mocked: responses.RequestsMock,
    make_client: Make,
    kinds: set[model.CommerceModel],
    products: list[str],
) -> None:
    _profile(mocked)
    mocked.post(TRANSFERS, status=201, json={"id": "TR-1", "status": "InProgress"})
    tid = _writer(make_client).request_transfer(
        "central", "c1", "de", "s-1", 18, request_id="rid-1", kinds=kinds
    )
    body = _sent(mocked, "POST")
    assert tid == "TR-1"
    assert CREATE_REQUIRED <= set(body) <= CREATE_FIELDS
    assert body["sourcePartnerTenantId"] == "t-de"
    assert body["sourcePartnerName"] == "Contoso Deutschland"
    assert body["customerEmailId"] == "billing@c1.example"
    assert body["transferType"] == 5
    assert (
        body["targetProductTypes"] == products and set(body["targetProductTypes"]) <= PRODUCT_TYPES
    )


def test_create_without_a_customer_email_sends_nothing_and_says_what_to_do(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    _profile(mocked, email="")
    with pytest.raises(errors.WriteRejected, match="billing profile") as info:
        _writer(make_client).request_transfer("central", "c1", "de", "s-1", 18, request_id="r")
    assert "customerEmailId" in str(info.value)
    assert not [c for c in mocked.calls if c.request.method == "POST"]


def test_accept_sends_exactly_the_named_line_items_with_status_complete(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    current = {
        "id": "TR-1",
        "status": "InProgress",
        "sourcePartnerTenantId": "t-de",
        "targetPartnerTenantId": "t-central",
        "lineItems": [],
        "links": {"self": {"uri": "/customers/c1/transfers/TR-1"}},
    }
    mocked.get(f"{TRANSFERS}/TR-1", json=current)
    accepted = {**current, "lineItems": [{"id": 0, "subscriptionId": "s-1", "quantity": 18}]}
    mocked.patch(f"{TRANSFERS}/TR-1", json=accepted)
    sub = writes.Sub(
        "s-1",
        "CFQ7TTC0LCHC:0002:CFQ7TTC0HB8Z",
        "Business Premium",
        18,
        model.SubscriptionStatus.ACTIVE,
        billing_cycle="monthly",
    )
    live = _writer(make_client).accept_transfer("de", "c1", "TR-1", [sub], request_id="rid-a")
    body = _sent(mocked, "PATCH")
    assert body["status"] == "Complete" and body["id"] == "TR-1"
    assert "links" not in body
    [line] = body["lineItems"]
    assert set(line) <= LINE_FIELDS
    assert line == {
        "id": 0,
        "subscriptionId": "s-1",
        "quantity": 18,
        "billingCycle": "monthly",
        "offerId": "CFQ7TTC0LCHC:0002:CFQ7TTC0HB8Z",
        "friendlyName": "Business Premium",
    }
    [patch] = [c for c in mocked.calls if c.request.method == "PATCH"]
    assert patch.request.headers["MS-RequestId"] == "rid-a"
    assert live.names("s-1")


def test_reject_sends_the_documented_body(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.patch(f"{TRANSFERS}/TR-1", json={"id": "TR-1", "status": "Reject"})
    make_client().reject_transfer("c1", "TR-1", request_id="r")
    assert _sent(mocked, "PATCH") == {"id": "TR-1", "status": "Reject"}
