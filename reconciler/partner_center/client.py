"""Typed Partner Center operations for one partner tenant, built on ``http.Transport``.

Reads return wire TypedDicts; writes take the caller's ``request_id`` (kept across retries and
journalled by apply) and raise ``UnknownOutcome`` when their result stays unknown. The
subscription PATCH is full-resource (the resource as just read, changed, PATCHed back) and
follows 202 + Location by polling (partner-center-api.md §3.5). It sends no ``If-Match``, as
Microsoft's .NET SDK does not (``SubscriptionOperations.PatchAsync``): what keeps a PATCH safe
is the fresh read right before it (apply's re-checks, or here), never an ETag. A stale-ETag
answer (400/412 code 2055) or a 409 is a conflict: the subscription is read again and the
change counts as done only if it is visible.

This module must NOT retry on its own beyond what is documented here (``http`` retries), nor
return ``requests`` objects, nor decide what to change (planning/apply do).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote

from reconciler import errors, model, settings
from reconciler.partner_center import errors as api_errors
from reconciler.partner_center import http, wire
from reconciler.partner_center.stats import Stats

#: The ``agreementType`` of the Microsoft Customer Agreement.
MCA = "MicrosoftCustomerAgreement"
#: A cap on pages of one listing, so a server that keeps answering "next" cannot loop us.
MAX_PAGES = 100_000


def _seg(value: str) -> str:
    return quote(value, safe="")


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(current, str) and isinstance(wanted, str):
        return current.lower() == wanted.lower()
    return bool(current == wanted)


def changes_visible(doc: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
    """True when every changed field of a subscription already has its wanted value."""
    lowered = {k.lower(): v for k, v in doc.items()}
    return all(_same(lowered.get(k.lower()), v) for k, v in changes.items())


class PartnerCenterClient:
    """Partner Center for one partner tenant (app-only; App+User where configured)."""

    def __init__(
        self,
        transport: http.Transport,
        *,
        tenant: model.Tenant | None = None,
        delegated: http.Transport | None = None,
        page_size: int = 100,
        concurrency: int = 8,
        poll_interval: float = 2.0,
        poll_attempts: int = 60,
        sleep: Callable[[float], None] | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        order_list_lag: float = settings.DEFAULT_ORDER_LIST_LAG_SECONDS,
    ) -> None:
        self.transport = transport
        self.tenant = tenant
        self.delegated = delegated
        self.page_size = page_size
        #: Parallel requests the reader may run for this tenant (RECONCILER_CONCURRENCY).
        self.concurrency = max(1, concurrency)
        self.poll_interval = poll_interval
        self.poll_attempts = poll_attempts
        self._sleep = sleep or transport.sleep
        self._new_id = new_id
        #: Seconds a new order may take to be listed (RECONCILER_ORDER_LIST_LAG_SECONDS);
        #: apply's bound for looking for an order whose answer was lost.
        self.order_list_lag = order_list_lag
        self._user_lock = threading.Lock()
        self._user_problem: str | None = None

    @property
    def name(self) -> str:
        return self.transport.tenant

    @property
    def stats(self) -> Stats:
        return self.transport.stats

    def sign_in(self) -> None:
        """Get (or reuse) the app-only token; raises ``SignInError`` / ``TlsError`` when the
        tenant cannot be used at all."""
        self.transport.tokens.token()

    @property
    def has_delegated(self) -> bool:
        """Whether an App+User sign-in is configured (needed for the invitation URL)."""
        return self.delegated is not None

    def user_problem(self) -> str:
        """Why App+User calls cannot be made now, or ``""`` when they can: no sign-in is
        configured, or its token cannot be had (a refresh token that expired or was revoked).
        The token is tried once per client, so a failed sign-in costs one attempt, not one
        per customer."""
        with self._user_lock:
            if self._user_problem is None:
                self._user_problem = self._try_user()
            return self._user_problem

    def _try_user(self) -> str:
        if self.delegated is None:
            return (
                f"no user is signed in to tenant '{self.name}': run `reconciler login {self.name}`"
            )
        try:
            self.delegated.tokens.token()
        except errors.ReconcilerError as exc:
            return f"the signed-in user of tenant '{self.name}' has no usable token ({exc})"
        return ""

    # ----------------------------------------------------------------------------- customers

    def list_customers(self, *, page_size: int | None = None) -> Iterator[wire.Customer]:
        """Every customer of the partner tenant, following ``links.next`` (and its headers)."""
        link = f"/customers?size={page_size or self.page_size}"
        headers: dict[str, str] = {}
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        for _ in range(MAX_PAGES):
            reply = self.transport.call("GET", link, headers=headers)
            for item in wire.collection_items(reply.body):
                yield cast(wire.Customer, item)
            following = wire.next_link(reply.body)
            if following is None:
                return
            link, headers = following
            key = (link, tuple(sorted(headers.items())))
            if key in seen:
                raise errors.WireFormatError("the customer list repeats a page (links.next loop)")
            seen.add(key)
        raise errors.WireFormatError("the customer list did not end")

    def get_customer(self, customer_id: str) -> wire.Customer:
        """One customer by tenant id."""
        reply = self.transport.call("GET", f"/customers/{_seg(customer_id)}", customer=customer_id)
        return cast(wire.Customer, reply.body)

    def get_billing_profile(self, customer_id: str) -> dict[str, Any]:
        """The customer's billing profile (its contact email is a transfer's
        ``customerEmailId``)."""
        reply = self.transport.call(
            "GET", f"/customers/{_seg(customer_id)}/profiles/billing", customer=customer_id
        )
        return cast(dict[str, Any], reply.body)

    # ------------------------------------------------------------------------- subscriptions

    def list_subscriptions(
        self, customer_id: str, *, order_id: str | None = None
    ) -> list[wire.Subscription]:
        """All subscriptions of a customer (one unpaged call), or those of one order."""
        link = f"/customers/{_seg(customer_id)}/subscriptions"
        if order_id:
            link += f"?order_id={_seg(order_id)}"
        reply = self.transport.call("GET", link, customer=customer_id)
        return cast(list[wire.Subscription], wire.collection_items(reply.body))

    def get_subscription(self, customer_id: str, subscription_id: str) -> wire.Subscription:
        """One subscription (with its current etag)."""
        reply = self.transport.call(
            "GET",
            f"/customers/{_seg(customer_id)}/subscriptions/{_seg(subscription_id)}",
            customer=customer_id,
        )
        return cast(wire.Subscription, reply.body)

    def list_azure_entitlements(self, customer_id: str, subscription_id: str) -> list[Any]:
        """The Azure subscriptions under an Azure plan (``AzureEntitlement`` resources,
        ``GET .../subscriptions/{id}/azureEntitlements``)."""
        reply = self.transport.call(
            "GET",
            f"/customers/{_seg(customer_id)}/subscriptions/{_seg(subscription_id)}"
            "/azureEntitlements",
            customer=customer_id,
        )
        return list(wire.collection_items(reply.body))

    def update_subscription(
        self,
        customer_id: str,
        subscription_id: str,
        changes: Mapping[str, Any],
        *,
        request_id: str,
        current: Mapping[str, Any] | None = None,
    ) -> wire.Subscription:
        """Change fields of a subscription (status, quantity, friendlyName, autoRenewEnabled).

        Applies ``changes`` to the full resource and PATCHes it back (omitting fields would
        silently reset auto-renew), without ``If-Match`` like Microsoft's SDK. The resource
        is ``current`` when the caller has just read it (the document its own safety checks
        judged: no second read of the same state), else it is read now (GET). A 202 is
        followed by polling its Location until the change is visible. After an ambiguous
        failure or a conflict (409, 412, code 2055 at any status) the subscription is re-read:
        if the change is visible it succeeded, otherwise the error stands.
        """
        if current is None or not _same(current.get("id"), subscription_id):
            current = self.get_subscription(customer_id, subscription_id)
        if changes_visible(current, changes):
            return cast(wire.Subscription, dict(current))
        body = {**current, **changes}
        body.pop("links", None)
        link = f"/customers/{_seg(customer_id)}/subscriptions/{_seg(subscription_id)}"
        try:
            reply = self.transport.call(
                "PATCH", link, body=body, request_id=request_id, customer=customer_id
            )
        except (api_errors.UnknownOutcome, api_errors.ApiConflict):
            # A retried PATCH may meet its own earlier success (a conflict): look.
            after = self.get_subscription(customer_id, subscription_id)
            if changes_visible(after, changes):
                return after
            raise
        if reply.status == 202:
            return self._poll_subscription(customer_id, reply, link, changes, request_id)
        return cast(wire.Subscription, reply.body)

    def _poll_subscription(
        self,
        customer_id: str,
        reply: http.Reply,
        link: str,
        changes: Mapping[str, Any],
        request_id: str,
    ) -> wire.Subscription:
        location = next((v for k, v in reply.headers.items() if k.lower() == "location"), link)
        for _ in range(self.poll_attempts):
            self._sleep(self.poll_interval)
            doc = self.transport.call("GET", location, customer=customer_id).body
            if isinstance(doc, dict) and changes_visible(doc, changes):
                return cast(wire.Subscription, doc)
        raise api_errors.UnknownOutcome(
            status=202,
            code=None,
            method="PATCH",
            path=link,
            request_id=request_id,
            tenant=self.name,
            description="accepted, but the change did not become visible "
            f"within {self.poll_attempts} polls",
        )

    # --------------------------------------------------------------------- orders and carts

    def create_order(
        self, customer_id: str, order: Mapping[str, Any], *, request_id: str
    ) -> wire.Order:
        """Create an order (legacy offers). Body per §3.6; ``referenceCustomerId`` is filled."""
        body = {"referenceCustomerId": customer_id, **order}
        reply = self.transport.call(
            "POST",
            f"/customers/{_seg(customer_id)}/orders",
            body=body,
            request_id=request_id,
            customer=customer_id,
        )
        return cast(wire.Order, reply.body)

    def get_order(self, customer_id: str, order_id: str) -> wire.Order:
        """One order."""
        reply = self.transport.call(
            "GET", f"/customers/{_seg(customer_id)}/orders/{_seg(order_id)}", customer=customer_id
        )
        return cast(wire.Order, reply.body)

    def list_orders(self, customer_id: str) -> list[wire.Order]:
        """All orders of a customer (to look for the effect of an unknown-outcome POST)."""
        reply = self.transport.call(
            "GET", f"/customers/{_seg(customer_id)}/orders", customer=customer_id
        )
        return cast(list[wire.Order], wire.collection_items(reply.body))

    def create_cart(
        self, customer_id: str, line_items: Sequence[Mapping[str, Any]], *, request_id: str
    ) -> wire.Cart:
        """Create a cart (NCE purchases); line item ids are numbered 0..n-1 if absent."""
        items = [{"id": i, **item} for i, item in enumerate(line_items)]
        reply = self.transport.call(
            "POST",
            f"/customers/{_seg(customer_id)}/carts",
            body={"lineItems": items},
            request_id=request_id,
            customer=customer_id,
        )
        return cast(wire.Cart, reply.body)

    def update_cart(
        self,
        customer_id: str,
        cart_id: str,
        line_items: Sequence[Mapping[str, Any]],
        *,
        request_id: str,
    ) -> wire.Cart:
        """Replace a cart's lines (``PUT`` with the full cart, §3.7); ids numbered 0..n-1."""
        items = [{"id": i, **item} for i, item in enumerate(line_items)]
        reply = self.transport.call(
            "PUT",
            f"/customers/{_seg(customer_id)}/carts/{_seg(cart_id)}",
            body={"id": cart_id, "lineItems": items},
            request_id=request_id,
            customer=customer_id,
        )
        return cast(wire.Cart, reply.body)

    def list_availabilities(
        self, customer_id: str, product_id: str, sku_id: str, *, target_view: str = "OnlineServices"
    ) -> list[wire.Availability]:
        """The availabilities of a product's SKU for one customer (partner-center-api.md §0,
        §3.8): Microsoft reissues their ids, so a purchase reads them just before its cart."""
        reply = self.transport.call(
            "GET",
            f"/customers/{_seg(customer_id)}/products/{_seg(product_id)}/skus/{_seg(sku_id)}"
            f"/availabilities?targetView={_seg(target_view)}",
            customer=customer_id,
        )
        return cast(list[wire.Availability], wire.collection_items(reply.body))

    def list_agreements(self, customer_id: str, agreement_type: str = MCA) -> list[dict[str, Any]]:
        """The customer's confirmed agreements of ``agreement_type`` (``GET .../agreements``;
        Microsoft's "Get confirmation of customer acceptance of Microsoft Customer
        Agreement"): App+User only, so through the delegated sign-in (``ApiNeedsUser``
        without one). The type is always sent: without it Partner Center lists the older
        Microsoft Cloud Agreement."""
        path = f"/customers/{_seg(customer_id)}/agreements?agreementType={_seg(agreement_type)}"
        reply = self._user("GET", path).call("GET", path, customer=customer_id)
        return cast(list[dict[str, Any]], wire.collection_items(reply.body))

    def list_agreement_templates(self, agreement_type: str = MCA) -> list[dict[str, Any]]:
        """The agreement metadata of ``agreement_type`` (``GET /agreements?agreementType=``,
        "Get agreement metadata for the Microsoft Customer Agreement", App+User only): each
        item's ``templateId`` is what a confirmation names."""
        path = f"/agreements?agreementType={_seg(agreement_type)}"
        reply = self._user("GET", path).call("GET", path)
        return cast(list[dict[str, Any]], wire.collection_items(reply.body))

    def create_agreement(
        self, customer_id: str, agreement: Mapping[str, Any], *, request_id: str
    ) -> dict[str, Any]:
        """Confirm the customer's acceptance of an agreement (``POST .../agreements``, "Confirm
        customer acceptance of the Microsoft Customer Agreement", App+User only). ``agreement``
        is the ``Agreement`` body: ``primaryContact``, ``templateId``, ``dateAgreed``,
        ``type``; Partner Center derives ``userId`` from the token."""
        path = f"/customers/{_seg(customer_id)}/agreements"
        reply = self._user("POST", path).call(
            "POST", path, body=dict(agreement), request_id=request_id, customer=customer_id
        )
        return cast(dict[str, Any], reply.body if isinstance(reply.body, dict) else {})

    def get_cart(self, customer_id: str, cart_id: str) -> wire.Cart:
        """One cart (``status: Ordered`` means it was checked out)."""
        reply = self.transport.call(
            "GET", f"/customers/{_seg(customer_id)}/carts/{_seg(cart_id)}", customer=customer_id
        )
        return cast(wire.Cart, reply.body)

    def checkout_cart(
        self, customer_id: str, cart_id: str, *, request_id: str
    ) -> wire.CheckoutResult:
        """Check a cart out. Partial success is normal: inspect ``orderErrors``."""
        reply = self.transport.call(
            "POST",
            f"/customers/{_seg(customer_id)}/carts/{_seg(cart_id)}/checkout",
            request_id=request_id,
            customer=customer_id,
        )
        result = cast(wire.CheckoutResult, reply.body or {})
        result.setdefault("orders", [])
        result.setdefault("orderErrors", [])
        return result

    # ----------------------------------------------------------------------------- transfers

    def create_transfer(
        self, customer_id: str, transfer: Mapping[str, Any], *, request_id: str
    ) -> wire.Transfer:
        """Create a partner-to-partner (NCE) transfer request as the target partner.

        Sends ``transferType`` 5 (new commerce) unless given; on a 400 falls back to 3, the
        value an older Microsoft page documents (§3.10), with a fresh request id because a
        400 is a definite answer.
        """
        link = f"/customers/{_seg(customer_id)}/transfers"
        body = {"transferType": 5, **transfer}
        try:
            reply = self.transport.call(
                "POST", link, body=body, request_id=request_id, customer=customer_id
            )
        except api_errors.ApiBusinessError as exc:
            if exc.status != 400 or body["transferType"] != 5 or "transferType" in transfer:
                raise
            reply = self.transport.call(
                "POST",
                link,
                body={**body, "transferType": 3},
                request_id=self._new_id(),
                customer=customer_id,
            )
        return cast(wire.Transfer, reply.body)

    def list_transfers(self, customer_id: str) -> list[wire.Transfer]:
        """Every transfer request of the customer this partner is party to (one call)."""
        reply = self.transport.call(
            "GET", f"/customers/{_seg(customer_id)}/transfers", customer=customer_id
        )
        return cast(list[wire.Transfer], wire.transfer_items(reply.body))

    def get_transfer(self, customer_id: str, transfer_id: str) -> wire.Transfer:
        """One transfer request."""
        reply = self.transport.call(
            "GET",
            f"/customers/{_seg(customer_id)}/transfers/{_seg(transfer_id)}",
            customer=customer_id,
        )
        return cast(wire.Transfer, reply.body)

    def cancel_transfer(
        self, customer_id: str, transfer_id: str, *, request_id: str
    ) -> wire.Transfer:
        """Cancel a pending transfer (target side): PATCH it with ``status: Cancel``."""
        current = dict(self.get_transfer(customer_id, transfer_id))
        body = {**current, "status": "Cancel"}
        body.pop("links", None)
        reply = self.transport.call(
            "PATCH",
            f"/customers/{_seg(customer_id)}/transfers/{_seg(transfer_id)}",
            body=body,
            request_id=request_id,
            customer=customer_id,
        )
        return cast(wire.Transfer, reply.body)

    def accept_transfer(
        self,
        customer_id: str,
        transfer_id: str,
        line_items: Sequence[Mapping[str, Any]],
        *,
        request_id: str,
    ) -> wire.Transfer:
        """Accept a transfer request (source side, "Update a transfer"): PATCH it with
        ``status: Complete`` and exactly ``line_items``, each a ``TransferLineItem``
        (``id``, ``subscriptionId``, ``quantity``, ``billingCycle``, ``offerId``, ...)."""
        current = dict(self.get_transfer(customer_id, transfer_id))
        body = {**current, "status": "Complete", "lineItems": [dict(i) for i in line_items]}
        body.pop("links", None)
        reply = self.transport.call(
            "PATCH",
            f"/customers/{_seg(customer_id)}/transfers/{_seg(transfer_id)}",
            body=body,
            request_id=request_id,
            customer=customer_id,
        )
        return cast(wire.Transfer, reply.body)

    def reject_transfer(
        self, customer_id: str, transfer_id: str, *, request_id: str
    ) -> wire.Transfer:
        """Decline a transfer request (source side): PATCH ``{"id", "status": "Reject"}``."""
        reply = self.transport.call(
            "PATCH",
            f"/customers/{_seg(customer_id)}/transfers/{_seg(transfer_id)}",
            body={"id": transfer_id, "status": "Reject"},
            request_id=request_id,
            customer=customer_id,
        )
        return cast(wire.Transfer, reply.body)

    # ---------------------------------------------------------------------------- invitation

    def _user(self, method: str, path: str) -> http.Transport:
        """The App+User transport, for the calls Partner Center answers only to a signed-in
        user; ``ApiNeedsUser`` (nothing sent) when no delegated sign-in is configured."""
        if self.delegated is None:
            raise api_errors.ApiNeedsUser(
                status=0,
                code=None,
                method=method,
                path="/v1" + path.split("?", 1)[0],
                tenant=self.name,
                description="no delegated sign-in is configured",
            )
        return self.delegated

    def get_invitation_url(self) -> str:
        """The reseller-relationship invitation URL (App+User only, §3.3); opaque."""
        path = "/customers/relationshiprequests"
        reply = self._user("GET", path).call("GET", path)
        url = reply.body.get("url") if isinstance(reply.body, dict) else None
        if not url:
            raise errors.WireFormatError("the relationship request has no 'url'")
        return str(url)
