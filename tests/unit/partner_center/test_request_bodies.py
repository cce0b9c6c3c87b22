"""The body of every write the client sends, checked against the field tables of Microsoft's
documentation: required fields present, names spelt and cased exactly, no field the resource
does not have (issue 12, acceptance). Each table names the page it was transcribed from
(learn.microsoft.com/partner-center/developer/..., the MicrosoftDocs partner-center-sdk
sources of those pages, and partner-center-api.md, which summarises them).

Writes are made the way apply makes them: through ``writer.ClientWriter`` (the adapter behind
the executor's port) over a real ``PartnerCenterClient``, with ``responses`` capturing what
leaves. The transfer writes (create, accept, cancel) are checked against the TransferEntity
tables with the transfer work of issue 12 point 2, which reshapes those bodies."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from pc_fakes import API

from reconciler import model, writes
from reconciler.partner_center import client as pc_client
from reconciler.partner_center import writer as pc_writer

Make = Callable[..., pc_client.PartnerCenterClient]
CUSTOMER = "3f2c6d55-0000-4000-8000-00000000c001"
SID = "a4c1340d-0000-0000-0000-0000000000a1"
SUB_URL = f"{API}/v1/customers/{CUSTOMER}/subscriptions/{SID}"


# ---------------------------------------------------------------------------- field tables

#: Subscription resource, developer/subscription-resources ("Subscription" table; also the
#: NCE fields of the 2023 page: commitmentEndDateTime, refundOptions, refundableQuantity,
#: scheduledNextTermInstructions, nextChargeInstructions, ...). A subscription PATCH sends the
#: whole resource back with only links left out (developer/suspend-a-subscription,
#: change-the-quantity-of-a-subscription, cancel-a-subscription: get it, change the field,
#: PATCH it).
SUBSCRIPTION = frozenset(
    {
        "id", "entitlementId", "offerId", "offerName", "friendlyName", "productType",
        "quantity", "unitType", "parentSubscriptionId", "consumptionType", "creationDate",
        "effectiveStartDate", "commitmentEndDate", "commitmentEndDateTime",
        "cancellationAllowedUntilDate", "billingCycleEndDate", "billingCycleEndDateTime",
        "status", "autoRenewEnabled", "billingType", "billingCycle", "termDuration",
        "renewalTermDuration", "hasPurchasableAddons", "isTrial", "isMicrosoftProduct",
        "actions", "partnerId", "suspensionReasons", "contractType", "orderId",
        "refundOptions", "refundableQuantity", "scheduledNextTermInstructions",
        "nextChargeInstructions", "renewsTo", "promotionId", "migratedFromSubscriptionId",
        "productOrderId", "lineItems", "publisherName", "attentionNeeded", "actionTaken",
        "links", "attributes",
    }
)  # fmt: skip
#: What a full-resource PATCH must carry (developer/subscription-resources, "Update"; §3.5:
#: a missing autoRenewEnabled silently turns auto-renew off).
SUBSCRIPTION_PATCH_REQUIRED = frozenset({"id", "offerId", "quantity", "status", "autoRenewEnabled"})

#: Cart, developer/create-a-cart ("Request body": only lineItems is required) and
#: developer/cart-resources ("Cart").
CART = frozenset(
    {
        "id", "creationTimestamp", "lastModifiedTimestamp", "expirationTimestamp",
        "lastModifiedUser", "lineItems", "status", "partnerOnRecordAttestationAccepted",
    }
)  # fmt: skip
CART_REQUIRED = frozenset({"lineItems"})
#: CartLineItem, developer/create-a-cart (required: catalogItemId, quantity, billingCycle) and
#: developer/cart-resources ("CartLineItem"; termDuration, renewsTo, promotionId, ...).
CART_LINE = frozenset(
    {
        "id", "catalogItemId", "friendlyName", "quantity", "currencyCode", "billingCycle",
        "termDuration", "participants", "provisioningContext", "orderGroup", "addonItems",
        "error", "renewsTo", "promotionId", "customTermEndDate", "attestationAccepted",
    }
)  # fmt: skip
CART_LINE_REQUIRED = frozenset({"catalogItemId", "quantity", "billingCycle"})

#: Order, developer/create-an-order ("Order": only lineItems is required) and
#: developer/order-resources.
ORDER = frozenset(
    {
        "id", "alternateId", "referenceCustomerId", "billingCycle", "transactionType",
        "lineItems", "currencyCode", "currencySymbol", "creationDate", "status", "totalPrice",
        "partnerOnRecordAttestationAccepted", "links", "attributes",
    }
)  # fmt: skip
ORDER_REQUIRED = frozenset({"lineItems"})
#: OrderLineItem, developer/create-an-order ("OrderLineItem": lineItemNumber, offerId and
#: quantity required) and developer/order-resources (termDuration, renewsTo, ...).
ORDER_LINE = frozenset(
    {
        "lineItemNumber", "offerId", "subscriptionId", "parentSubscriptionId", "termDuration",
        "renewsTo", "transactionType", "friendlyName", "quantity", "pricing",
        "partnerIdOnRecord", "additionalPartnerIdsOnRecord", "provisioningContext",
        "promotionId", "customTermEndDate", "attestationAccepted", "links", "attributes",
    }
)  # fmt: skip
ORDER_LINE_REQUIRED = frozenset({"lineItemNumber", "offerId", "quantity"})


def check_fields(
    what: str, body: Mapping[str, Any], allowed: Iterable[str], required: Iterable[str] = ()
) -> None:
    """``body``'s names are exactly (case included) names of the documented table, and every
    required one is present and not empty."""
    names = set(body)
    unknown = sorted(names - set(allowed))
    assert not unknown, f"{what}: {unknown} are not fields of the documented resource"
    missing = sorted(n for n in required if body.get(n) in (None, "", []))
    assert not missing, f"{what}: the documentation marks {missing} as required"


# ------------------------------------------------------------------------------ fixtures


def _subscription(**fields: object) -> dict[str, object]:
    """A new-commerce subscription as GET returns it (partner-center-api.md §3.4's example)."""
    doc: dict[str, object] = {
        "id": SID,
        "offerId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
        "offerName": "Microsoft 365 Business Basic",
        "friendlyName": "Microsoft 365 Business Basic [rc:bb]",
        "productType": {"id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE"},
        "quantity": 10,
        "unitType": "Licenses",
        "hasPurchasableAddons": False,
        "creationDate": "2026-11-30T09:12:15.0966728Z",
        "effectiveStartDate": "2026-11-30T00:00:00Z",
        "commitmentEndDate": "2027-11-29T00:00:00Z",
        "cancellationAllowedUntilDate": "2026-12-07T09:12:15Z",
        "status": "active",
        "autoRenewEnabled": True,
        "isTrial": False,
        "billingType": "license",
        "billingCycle": "monthly",
        "termDuration": "P1Y",
        "refundOptions": [{"type": "Full", "expiresAt": "2026-12-01T09:12:15Z"}],
        "isMicrosoftProduct": True,
        "contractType": "subscription",
        "orderId": "34b37d7340cc",
        "links": {"self": {"uri": f"/customers/{CUSTOMER}/subscriptions/{SID}"}},
        "attributes": {"etag": "e-1", "objectType": "Subscription"},
    }
    doc.update(fields)
    return doc


def _tenants() -> list[model.Tenant]:
    return [
        model.Tenant("central", "0f6a1b8e-0000-4000-8000-000000000001", "DE", model.Role.TARGET),
        model.Tenant("de", "0f6a1b8e-0000-4000-8000-0000000000de", "DE", model.Role.SOURCE),
    ]


def _writer(make_client: Make) -> pc_writer.ClientWriter:
    client = make_client()
    return pc_writer.ClientWriter({"central": client, "de": client}, _tenants())


def _sent(mocked: responses.RequestsMock, method: str) -> list[Any]:
    return [
        json.loads(c.request.body) if c.request.body else None
        for c in mocked.calls
        if c.request.method == method
    ]


# ------------------------------------------------------------------- subscription PATCH


PATCHES = {
    "quantity": (writes.SubscriptionPatch(quantity=12), {"quantity": 12}),
    "suspend": (
        writes.SubscriptionPatch(status=model.SubscriptionStatus.SUSPENDED),
        {"status": "suspended"},
    ),
    "reactivate": (
        writes.SubscriptionPatch(status=model.SubscriptionStatus.ACTIVE),
        {"status": "active"},
    ),
    "cancel": (
        writes.SubscriptionPatch(status=model.SubscriptionStatus.DELETED),
        {"status": "deleted"},
    ),
    "auto-renew off": (writes.SubscriptionPatch(auto_renew=False), {"autoRenewEnabled": False}),
}


@pytest.mark.parametrize("variant", sorted(PATCHES))
def test_subscription_patch_bodies_follow_the_subscription_resource(
    mocked: responses.RequestsMock, make_client: Make, variant: str
) -> None:
    patch, wanted = PATCHES[variant]
    current = _subscription(status="suspended" if variant == "reactivate" else "active")
    mocked.get(SUB_URL, json=current)
    mocked.patch(SUB_URL, json={**current, **wanted})
    _writer(make_client).update("de", CUSTOMER, SID, patch, request_id="rid-1")
    (body,) = _sent(mocked, "PATCH")
    check_fields(f"PATCH ({variant})", body, SUBSCRIPTION, SUBSCRIPTION_PATCH_REQUIRED)
    assert {k: body[k] for k in wanted} == wanted  # the documented name, value and casing
    unchanged = {k: v for k, v in current.items() if k not in wanted and k != "links"}
    assert {k: body[k] for k in unchanged} == unchanged  # the full resource, nothing dropped
    assert "links" not in body


def test_a_rename_patch_sends_friendly_name(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    current = _subscription()
    mocked.get(SUB_URL, json=current)
    mocked.patch(SUB_URL, json={**current, "friendlyName": "renamed"})
    make_client().update_subscription(
        CUSTOMER, SID, {"friendlyName": "renamed"}, request_id="rid-2"
    )
    (body,) = _sent(mocked, "PATCH")
    check_fields("PATCH (rename)", body, SUBSCRIPTION, SUBSCRIPTION_PATCH_REQUIRED)
    assert body["friendlyName"] == "renamed" and body["autoRenewEnabled"] is True


# ---------------------------------------------------------------------- carts and orders


def test_cart_create_and_checkout_bodies_follow_the_cart_pages(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    carts = f"{API}/v1/customers/{CUSTOMER}/carts"
    # developer/get-an-availability-by-id: the current availability is read before the line.
    mocked.get(
        f"{API}/v1/customers/{CUSTOMER}/products/CFQ7TTC0LH18/skus/0001/availabilities",
        json={
            "items": [
                {
                    "id": "CFQ7TTC0K971",
                    "productId": "CFQ7TTC0LH18",
                    "skuId": "0001",
                    "catalogItemId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
                    "terms": [{"duration": "P1Y", "billingCycle": "Monthly"}],
                }
            ]
        },
    )
    mocked.post(carts, status=201, json={"id": "k1", "status": "Active", "lineItems": []})
    mocked.post(
        f"{carts}/k1/checkout",
        status=201,
        json={"orders": [{"id": "o1", "lineItems": [{"subscriptionId": SID}]}], "orderErrors": []},
    )
    spec = writes.OrderSpec(
        "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
        5,
        "monthly",
        "P1Y",
        "Business Basic [rc:bb]",
        writes.OrderChannel.CART,
    )
    _writer(make_client).order("central", CUSTOMER, spec, request_id="rid-3")
    cart, checkout = _sent(mocked, "POST")
    check_fields("cart", cart, CART, CART_REQUIRED)
    (line,) = cart["lineItems"]
    check_fields("cart line", line, CART_LINE, CART_LINE_REQUIRED)
    assert line["catalogItemId"] == spec.offer_id and line["termDuration"] == "P1Y"
    assert line["billingCycle"] == "monthly" and line["quantity"] == 5
    # developer/checkout-a-cart: POST with an empty body (Content-Length 0).
    assert checkout is None
    [sent] = [c for c in mocked.calls if c.request.url.endswith("/checkout")]
    assert sent.request.headers.get("Content-Length") in (None, "0")


def test_order_create_body_follows_the_create_an_order_page(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.post(
        f"{API}/v1/customers/{CUSTOMER}/orders",
        status=201,
        json={"id": "o1", "lineItems": [{"subscriptionId": SID}], "status": "pending"},
    )
    spec = writes.OrderSpec(
        "4B244418-9658-4451-A2B8-B5B2B7D1F06E",
        2,
        "monthly",
        None,
        "Visio [rc:visio]",
        writes.OrderChannel.ORDER,
    )
    _writer(make_client).order("central", CUSTOMER, spec, request_id="rid-4")
    (order,) = _sent(mocked, "POST")
    check_fields("order", order, ORDER, ORDER_REQUIRED)
    (line,) = order["lineItems"]
    check_fields("order line", line, ORDER_LINE, ORDER_LINE_REQUIRED)
    assert line["lineItemNumber"] == 0 and line["offerId"] == spec.offer_id
    assert order["referenceCustomerId"] == CUSTOMER and order["billingCycle"] == "monthly"


# ------------------------------------------------------------------------------ agreement

#: Agreement, developer/agreement-resources ("Agreement": userId, primaryContact, dateAgreed,
#: templateId, type, agreementLink) and developer/confirm-customer-consent-customer-agreement
#: ("the minimum fields required to create an Agreement": primaryContact, dateAgreed,
#: templateId, type; userId is derived from the App+User token, so not sent).
AGREEMENT = frozenset(
    {"userId", "primaryContact", "dateAgreed", "templateId", "type", "agreementLink"}
)
AGREEMENT_REQUIRED = frozenset({"primaryContact", "dateAgreed", "templateId", "type"})
#: Contact, developer/utility-resources ("Contact") as the agreement pages list it: firstName,
#: lastName, email and the optional phoneNumber.
CONTACT = frozenset({"firstName", "lastName", "email", "phoneNumber"})
CONTACT_REQUIRED = frozenset({"firstName", "lastName", "email"})
MCA_TEMPLATE = "117a77b0-9360-443b-8795-c6dedc750cf9"


@pytest.mark.parametrize("phone", ["", "+49 30 1234567"])
def test_agreement_confirmation_body_follows_the_agreement_pages(
    mocked: responses.RequestsMock, make_client: Make, phone: str
) -> None:
    # developer/get-customer-agreement-metadata: the templateId comes from the metadata.
    mocked.get(
        f"{API}/v1/agreements?agreementType=MicrosoftCustomerAgreement",
        json={
            "totalCount": 1,
            "items": [
                {
                    "templateId": MCA_TEMPLATE,
                    "agreementType": "MicrosoftCustomerAgreement",
                    "agreementLink": "https://aka.ms/customeragreement",
                    "versionRank": 0,
                }
            ],
        },
    )
    mocked.post(f"{API}/v1/customers/{CUSTOMER}/agreements", status=201, json={})
    client = make_client(delegated=True)
    writer = pc_writer.ClientWriter({"central": client}, _tenants())
    spec = writes.AgreementSpec("Anna", "Weber", "anna.weber@fabrikam.example", phone, "2026-11-30")
    writer.record_agreement("central", CUSTOMER, spec, request_id="rid-a")
    (body,) = _sent(mocked, "POST")
    check_fields("agreement", body, AGREEMENT, AGREEMENT_REQUIRED)
    check_fields("agreement primaryContact", body["primaryContact"], CONTACT, CONTACT_REQUIRED)
    assert body["type"] == "MicrosoftCustomerAgreement" and body["templateId"] == MCA_TEMPLATE
    assert body["primaryContact"]["email"] == "anna.weber@fabrikam.example"
    assert body["primaryContact"].get("phoneNumber", "") == phone  # optional: left out if none
    # "string in UTC date time format", as in Microsoft's example 2018-06-14T00:00:00.000Z
    agreed = datetime.fromisoformat(body["dateAgreed"].replace("Z", "+00:00"))
    assert agreed == datetime(2026, 11, 30, tzinfo=UTC)
