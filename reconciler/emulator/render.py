"""Partner Center JSON for the emulator's records (camelCase, relative links without /v1).

Pure functions from world records to dicts. They must not change state or decide rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from reconciler.emulator.catalog import link
from reconciler.emulator.clock import day_iso, iso
from reconciler.emulator.world import Cart, Customer, Order, Partner, Subscription, Transfer


def etag(sub: Subscription) -> str:
    """The subscription's current opaque etag (changes on every write)."""
    return f"{sub.id[:8].lower()}v{sub.version}"


def customer(c: Customer, *, full: bool) -> dict[str, Any]:
    """A ``Customer``; list items are slim, get-by-id adds billing profile and delegated access."""
    base = f"/customers/{c.tenant_id}"
    body: dict[str, Any] = {
        "id": c.tenant_id,
        "commerceId": c.commerce_id,
        "companyProfile": {
            "tenantId": c.tenant_id,
            "domain": c.domain,
            "companyName": c.company_name,
            "links": {"self": link(f"{base}/profiles/company")},
            "attributes": {"objectType": "CustomerCompanyProfile"},
        },
        "relationshipToPartner": "reseller",
        "links": {"self": link(base)},
        "attributes": {"objectType": "Customer"},
    }
    if full:
        body["billingProfile"] = {
            "id": c.commerce_id,
            "companyName": c.company_name,
            "culture": "en-US",
            "language": "en",
            "email": f"billing@{c.domain}",
            "defaultAddress": {"country": c.country},
            "links": {"self": link(f"{base}/profiles/billing")},
            "attributes": {"etag": "1", "objectType": "CustomerBillingProfile"},
        }
        body["allowDelegatedAccess"] = False
        body["customDomains"] = []
    return body


def subscription(sub: Subscription, country: str, now: dt.datetime) -> dict[str, Any]:
    """A ``Subscription`` as the list and get-by-id routes return it."""
    off = sub.offering
    self_uri = f"/customers/{sub.customer_id}/subscriptions/{sub.id}"
    body: dict[str, Any] = {
        "id": sub.id,
        "offerId": off.offer_id,
        "offerName": off.name,
        "friendlyName": sub.friendly_name,
        "quantity": sub.quantity,
        "unitType": off.unit_type,
        "hasPurchasableAddons": False,
        "creationDate": iso(sub.created),
        "effectiveStartDate": day_iso(sub.start),
        "commitmentEndDate": day_iso(sub.end),
        "status": sub.status,
        "autoRenewEnabled": sub.auto_renew,
        "isTrial": False,
        "billingType": off.billing_type,
        "billingCycle": sub.billing_cycle,
        "termDuration": sub.term_duration,
        "isMicrosoftProduct": True,
        "partnerId": "",
        "attentionNeeded": False,
        "actionTaken": False,
        "contractType": "subscription",
        "publisherName": "Microsoft Corporation",
        "orderId": sub.order_id,
        "suspensionReasons": list(sub.suspension_reasons),
        "attributes": {"etag": etag(sub), "objectType": "Subscription"},
    }
    links: dict[str, Any] = {"self": link(self_uri)}
    if off.is_azure:
        body["entitlementId"] = sub.entitlement_id
    if off.product_id:
        body["productType"] = {"id": off.product_type, "displayName": off.product_type}
        prefix = f"/products/{off.product_id}"
        links.update(
            {
                "product": link(f"{prefix}?country={country}"),
                "sku": link(f"{prefix}/skus/{off.sku_id}?country={country}"),
                "availability": link(
                    f"{prefix}/skus/{off.sku_id}/availabilities/"
                    f"{off.availability_id}?country={country}"
                ),
            }
        )
    else:
        links["offer"] = link(f"/offers/{off.offer_id}?country={country}")
    body["links"] = links
    if off.is_nce:
        body.update(_nce_fields(sub, now))
    return body


def _nce_fields(sub: Subscription, now: dt.datetime) -> dict[str, Any]:
    open_batches = [(q, t) for q, t in sub.refundable if t > now]
    refundable = (
        None
        if sub.status == "suspended"
        else {
            "totalQuantity": sum(q for q, _ in open_batches),
            "details": [{"quantity": q, "allowedUntilDateTime": iso(t)} for q, t in open_batches],
        }
    )
    cancellable = sub.cancel_until is not None and sub.cancel_until > now
    return {
        "commitmentEndDateTime": sub.end.strftime("%Y-%m-%dT23:59:59Z"),
        "cancellationAllowedUntilDate": iso(sub.cancel_until) if cancellable else None,
        "billingCycleEndDate": day_iso(min(sub.end, now + dt.timedelta(days=30))),
        "renewalTermDuration": "",
        "refundOptions": [
            {"type": "Full", "expiresAt": iso(sub.created + dt.timedelta(days=1))},
            {"type": "Partial", "expiresAt": iso(sub.cancel_until)},
        ]
        if cancellable
        else [],
        "refundableQuantity": refundable,
        "actions": ["Edit", "Cancel"] if cancellable else ["Edit"],
    }


def order(o: Order, country: str) -> dict[str, Any]:
    """An ``Order``; line items gain ``subscriptionId`` once provisioning completed."""
    base = f"/customers/{o.customer_id}/orders/{o.id}"
    lines = []
    for line in o.lines:
        item: dict[str, Any] = {
            "lineItemNumber": line.number,
            "offerId": line.offer_id,
            "termDuration": line.term_duration,
            "transactionType": "New",
            "friendlyName": line.friendly_name,
            "quantity": line.quantity,
            "links": {},
        }
        if o.status == "completed":
            item["subscriptionId"] = line.subscription_id
            item["links"]["subscription"] = link(
                f"/customers/{o.customer_id}/subscriptions/{line.subscription_id}"
            )
        lines.append(item)
    return {
        "id": o.id,
        "alternateId": o.id,
        "referenceCustomerId": o.customer_id,
        "billingCycle": o.billing_cycle,
        "currencyCode": o.currency,
        "currencySymbol": {"EUR": "€", "USD": "$"}.get(o.currency, o.currency),
        "lineItems": lines,
        "creationDate": iso(o.created),
        "status": o.status,
        "transactionType": "UserPurchase",
        "links": {"self": link(base), "provisioningStatus": link(f"{base}/provisioningstatus")},
        "attributes": {"objectType": "Order"},
    }


def cart(c: Cart) -> dict[str, Any]:
    """A ``Cart``."""
    return {
        "id": c.id,
        "creationTimestamp": iso(c.created),
        "lastModifiedTimestamp": iso(c.modified),
        "expirationTimestamp": iso(c.created + dt.timedelta(days=7)),
        "lastModifiedUser": "",
        "lineItems": c.lines,
        "status": c.status,
        "links": {"self": link(f"/customers/{c.customer_id}/carts/{c.id}")},
        "attributes": {"objectType": "Cart"},
    }


def transfer(t: Transfer, names: dict[str, str]) -> dict[str, Any]:
    """A ``TransferEntity``."""
    return {
        "id": t.id,
        "createdTime": iso(t.created),
        "lastModifiedTime": iso(t.modified),
        "completedTime": iso(t.completed),
        "customerTenantId": t.customer_id,
        "customerName": t.request.get("customername", ""),
        "customerEmailId": t.request.get("customeremailid", ""),
        "partnertenantid": t.target_id,
        "sourcePartnerTenantId": t.source_id,
        "sourcePartnerName": names.get(t.source_id, ""),
        "targetPartnerTenantId": t.target_id,
        "targetPartnerName": names.get(t.target_id, ""),
        "targetPartnerEmailId": t.request.get("targetpartneremailid", ""),
        "targetProductTypes": t.request.get("targetproducttypes"),
        "transferType": t.transfer_type,
        "status": t.status,
        "lastModifiedUser": "",
        "lineItems": t.lines,
        "links": {"self": link(f"/customers/{t.customer_id}/transfers/{t.id}")},
        "attributes": {"objectType": "TransferEntity"},
    }


def organization_profile(p: Partner) -> dict[str, Any]:
    """The ``OrganizationProfile`` of a partner tenant."""
    return {
        "id": p.tenant_id,
        "tenantId": p.tenant_id,
        "companyName": p.company_name,
        "domain": p.domain,
        "email": f"ops@{p.domain}",
        "language": "en",
        "culture": "en-US",
        "defaultAddress": {"country": p.country},
        "profileType": "OrganizationProfile",
        "links": {"self": link("/profiles/organization")},
        "attributes": {"etag": "1", "objectType": "OrganizationProfile"},
    }
