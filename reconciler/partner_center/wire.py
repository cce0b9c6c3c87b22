"""Partner Center JSON as typed dicts, and the mapping of subscriptions to ``model`` types.

Field names follow partner-center-api.md §3-§4 (camelCase). Parsing is lenient where the
service is (dates with any fraction, ids in any case, absent optional fields) and strict where
a mistake would matter: a subscription without an id, offer or status is an error, never a
guess.

This module must NOT do I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NotRequired, TypedDict

from reconciler import model
from reconciler.errors import WireFormatError


class Link(TypedDict, total=False):
    uri: str
    method: str
    headers: list[dict[str, str]]


class CompanyProfile(TypedDict, total=False):
    tenantId: str
    domain: str
    companyName: str


class Customer(TypedDict, total=False):
    id: str
    companyProfile: CompanyProfile
    relationshipToPartner: str
    allowDelegatedAccess: bool
    links: dict[str, Link]
    attributes: dict[str, Any]


class Subscription(TypedDict, total=False):
    id: str
    offerId: str
    offerName: str
    friendlyName: str
    quantity: int
    status: str
    billingType: str
    billingCycle: str
    termDuration: str
    autoRenewEnabled: bool
    creationDate: str
    commitmentEndDate: str
    cancellationAllowedUntilDate: str
    refundableQuantity: dict[str, Any]
    orderId: str
    entitlementId: str
    parentSubscriptionId: str
    attributes: dict[str, Any]
    links: dict[str, Link]


class OrderLineItem(TypedDict, total=False):
    lineItemNumber: int
    offerId: str
    subscriptionId: str
    quantity: int
    friendlyName: str
    termDuration: str


class Order(TypedDict, total=False):
    id: str
    referenceCustomerId: str
    billingCycle: str
    lineItems: list[OrderLineItem]
    creationDate: str
    status: str
    attributes: dict[str, Any]


class CartLineItem(TypedDict, total=False):
    id: int
    catalogItemId: str
    quantity: int
    billingCycle: str
    termDuration: str
    friendlyName: str
    provisioningContext: dict[str, str]
    error: dict[str, Any]


class AvailabilityTerm(TypedDict, total=False):
    id: str
    duration: str
    billingCycle: str


class Availability(TypedDict, total=False):
    id: str
    productId: str
    skuId: str
    catalogItemId: str
    isPurchasable: bool
    terms: list[AvailabilityTerm]


class Cart(TypedDict, total=False):
    id: str
    status: str
    lineItems: list[CartLineItem]
    attributes: dict[str, Any]


class OrderError(TypedDict, total=False):
    orderGroupId: str
    code: int
    description: str


class CheckoutResult(TypedDict, total=False):
    orders: list[Order]
    orderErrors: list[OrderError]
    attributes: dict[str, Any]


class Transfer(TypedDict, total=False):
    id: str
    status: str
    sourcePartnerTenantId: str
    targetPartnerTenantId: str
    customerTenantId: str
    transferType: int
    lineItems: list[dict[str, Any]]
    attributes: dict[str, Any]


class Collection(TypedDict):
    items: list[Any]
    links: NotRequired[dict[str, Link]]
    totalCount: NotRequired[int]


def parse_datetime(value: object) -> datetime | None:
    """An ISO-8601 date or datetime in any fraction length, as aware UTC; ``None`` if absent."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        # Python < 3.11 style limits aside, .NET emits 7 fraction digits: trim to 6.
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tail = rest[len(digits) :]
        text = f"{head}.{(digits + '000000')[:6]}{tail}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _refundable(doc: object) -> tuple[model.RefundableBatch, ...]:
    if not isinstance(doc, dict):
        return ()
    batches = []
    for item in doc.get("details") or []:
        until = parse_datetime(item.get("allowedUntilDateTime")) if isinstance(item, dict) else None
        if until is not None:
            batches.append(model.RefundableBatch(int(item.get("quantity") or 0), until))
    return tuple(batches)


def _text(doc: Any, key: str) -> str:
    value = doc.get(key)
    return "" if value is None else str(value)


def to_live_subscription(doc: Any) -> model.LiveSubscription:
    """The ``model.LiveSubscription`` of one subscription payload; ``WireFormatError`` if it
    lacks an id, an offer id or a status (we would rather say "unknown" than guess)."""
    if not isinstance(doc, dict):
        raise WireFormatError("a subscription is not a JSON object")
    missing = [k for k in ("id", "offerId", "status") if not doc.get(k)]
    if missing:
        raise WireFormatError(f"a subscription lacks {', '.join(missing)}")
    billing_type = _text(doc, "billingType") or None
    offer_id = str(doc["offerId"]).strip().upper()
    try:
        quantity = int(doc.get("quantity") or 0)
    except (TypeError, ValueError):
        raise WireFormatError(f"subscription {doc['id']} has a non-numeric quantity") from None
    etag = (doc.get("attributes") or {}).get("etag")
    parent = doc.get("parentSubscriptionId")
    return model.LiveSubscription(
        id=str(doc["id"]).lower(),
        offer_id=offer_id,
        offer_name=_text(doc, "offerName"),
        friendly_name=_text(doc, "friendlyName"),
        quantity=quantity,
        status=model.SubscriptionStatus.parse(str(doc["status"])),
        commerce=model.classify_offer(offer_id, billing_type=billing_type),
        billing_cycle=_text(doc, "billingCycle").lower(),
        term_duration=_text(doc, "termDuration") or None,
        auto_renew=bool(doc.get("autoRenewEnabled", False)),
        creation_date=parse_datetime(doc.get("creationDate")),
        commitment_end_date=parse_datetime(doc.get("commitmentEndDate")),
        cancellation_allowed_until=parse_datetime(doc.get("cancellationAllowedUntilDate")),
        refundable=_refundable(doc.get("refundableQuantity")),
        order_id=_text(doc, "orderId") or None,
        etag=str(etag) if etag else None,
        entitlement_id=(_text(doc, "entitlementId").lower() or None),
        parent_subscription_id=str(parent).lower() if parent else None,
        product_type=_product_type(doc.get("productType")),
    )


def _product_type(value: Any) -> str | None:
    """``productType`` as ``id`` or ``id/subType`` (e.g. ``Azure/Reservation``), if given."""
    if not isinstance(value, dict) or not value.get("id"):
        return None
    sub = value.get("subType")
    return f"{value['id']}/{sub}" if sub else str(value["id"])


#: An unanswered transfer request lapses this long after creation (§3.10); used when the
#: payload carries no expiry of its own.
TRANSFER_EXPIRY = timedelta(days=30)
_EXPIRY_FIELDS = ("expirationDate", "expirationTime", "expiryTime", "expiresAt")


def _transfer_line(item: Any) -> model.LiveTransferLine:
    if not isinstance(item, dict) or not item.get("subscriptionId"):
        raise WireFormatError("a transfer line item lacks its subscriptionId")
    # Microsoft documents an orderId on a completed line; a target subscription id is
    # tolerated when a line carries one.
    target = item.get("targetSubscriptionId") or item.get("transferredSubscriptionId")
    order = item.get("orderId")
    quantity = item.get("quantity")
    return model.LiveTransferLine(
        source_subscription_id=str(item["subscriptionId"]).lower(),
        target_subscription_id=str(target).lower() if target else None,
        status=_text(item, "status"),
        order_id=str(order) if order else None,
        offer_id=_text(item, "offerId"),
        quantity=quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else None,
    )


def to_live_transfer(doc: Any) -> model.LiveTransfer:
    """The ``model.LiveTransfer`` of one ``TransferEntity`` payload; ``WireFormatError`` when it
    lacks an id, a status or the source partner (a request we cannot place is not guessed)."""
    if not isinstance(doc, dict):
        raise WireFormatError("a transfer is not a JSON object")
    missing = [k for k in ("id", "status", "sourcePartnerTenantId") if not doc.get(k)]
    if missing:
        raise WireFormatError(f"a transfer lacks {', '.join(missing)}")
    created = parse_datetime(doc.get("createdTime"))
    given = [parse_datetime(doc.get(k)) for k in _EXPIRY_FIELDS]
    expires = next((at for at in given if at is not None), None)
    if expires is None and created is not None:
        expires = created + TRANSFER_EXPIRY
    target = doc.get("targetPartnerTenantId") or doc.get("partnertenantid") or ""
    return model.LiveTransfer(
        id=str(doc["id"]).lower(),
        status=model.TransferStatus.parse(str(doc["status"])),
        source_partner_id=str(doc["sourcePartnerTenantId"]).lower(),
        target_partner_id=str(target).lower(),
        created_at=created,
        expires_at=expires,
        lines=tuple(_transfer_line(item) for item in doc.get("lineItems") or []),
        completed_at=parse_datetime(doc.get("completedTime")),
    )


def customer_tenant_id(doc: Any) -> str:
    """The customer's tenant id (lower case) from a customer payload."""
    if not isinstance(doc, dict):
        raise WireFormatError("a customer is not a JSON object")
    tid = doc.get("id") or (doc.get("companyProfile") or {}).get("tenantId")
    if not tid:
        raise WireFormatError("a customer lacks an id")
    return str(tid).lower()


def transfer_items(body: Any) -> list[Any]:
    """The transfers of a list answer: Microsoft's example is a bare JSON array, older
    answers a collection envelope; both are read (``WireFormatError`` for anything else)."""
    if isinstance(body, list):
        return list(body)
    return collection_items(body)


def collection_items(body: Any) -> list[Any]:
    """The ``items`` of a collection envelope; ``WireFormatError`` if it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise WireFormatError("the response is not a collection (no 'items' list)")
    return list(body["items"])


def next_link(body: Any) -> tuple[str, dict[str, str]] | None:
    """``(uri, headers)`` of a collection's ``links.next``, or ``None`` on the last page."""
    link = ((body or {}).get("links") or {}).get("next") if isinstance(body, dict) else None
    if not isinstance(link, dict) or not link.get("uri"):
        return None
    headers = {
        str(h["key"]): str(h["value"])
        for h in link.get("headers") or []
        if isinstance(h, dict) and "key" in h and "value" in h
    }
    return str(link["uri"]), headers
