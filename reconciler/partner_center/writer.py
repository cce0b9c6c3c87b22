"""The write adapter: ``PartnerCenterClient`` behind the executor's ``applying.ports.Writer``.

It maps wire payloads to ``writes.Sub``, carts and orders to ``writes.Ordered``, a
``writes.SubscriptionPatch`` to the wire fields it changes, and the API error tree to the
port's failure kinds (in ``reconciler.errors``): ``UnknownOutcome`` (and a 409 "order in
progress") become ``OutcomeUnknown``; 4xx business refusals become ``WriteRejected``; 404 on a
read is ``NotFound``. The port's values live in the bottom layer, so this module never imports
``reconciler.applying``; it satisfies the ``Writer`` Protocol structurally. It keeps the
subscription documents it read until the next write to their customer in their tenant
(``Documents``), so that a PATCH is built from the document the executor's re-check has just
read. It must NOT decide anything (the executor does) nor retry beyond what the client and
the executor already do.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from reconciler import errors, model, writes
from reconciler.partner_center import client as pc_client
from reconciler.partner_center import errors as api_errors
from reconciler.partner_center import wire


def to_sub(doc: Any) -> writes.Sub:
    """The port's view of one subscription payload (``Unreadable`` when malformed)."""
    try:
        live = wire.to_live_subscription(doc)
    except errors.WireFormatError as exc:
        raise errors.Unreadable(
            f"Partner Center returned a subscription that cannot be read ({exc}); the step "
            "is not attempted. Run `reconciler plan` to see the customer's state."
        ) from exc
    return writes.Sub(
        id=live.id,
        offer_id=live.offer_id,
        friendly_name=live.friendly_name,
        quantity=live.quantity,
        status=live.status,
        auto_renew=live.auto_renew,
        cancellation_allowed_until=live.cancellation_allowed_until,
        billing_cycle=live.billing_cycle,
    )


#: 409 codes saying an order (800060) or a cart checkout (800064) is still being processed.
IN_PROGRESS = frozenset({800060, 800064})


def patch_fields(patch: writes.SubscriptionPatch) -> dict[str, object]:
    """The wire fields of a subscription that ``patch`` changes."""
    fields: dict[str, object] = {}
    if patch.status is not None:
        fields["status"] = patch.status.value
    if patch.quantity is not None:
        fields["quantity"] = patch.quantity
    if patch.auto_renew is not None:
        fields["autoRenewEnabled"] = patch.auto_renew
    return fields


class Documents:
    """The subscription documents a writer read (single GETs and list reads), per tenant and
    customer, each kept until the next write of this run to that customer in that tenant.

    A PATCH is built from the document its caller's re-check has just read instead of
    reading the same state a second time. A document is never reused once a write of ours to
    its customer there was sent after it was read (a status change moves add-ons, an order
    adds a subscription), nor when it was read while such a write was in flight: every
    write moves the customer's epoch on when it starts and when it ends, and a read counts
    only if the epoch did not move while it was under way. Bounded: past ``limit`` customers
    the least recently read are forgotten (a forgotten document costs a GET, nothing else).
    """

    def __init__(self, limit: int = 1024) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        #: (tenant, customer) -> writes started or ended for it so far (only those written).
        self._epochs: dict[tuple[str, str], int] = {}
        #: (tenant, customer) -> (epoch when read, subscription id -> document).
        self._docs: OrderedDict[tuple[str, str], tuple[int, dict[str, Any]]] = OrderedDict()

    def epoch(self, tenant: str, customer_id: str) -> int:
        """The customer's epoch in ``tenant``: take it before a read, give it to ``keep``."""
        with self._lock:
            return self._epochs.get((tenant, customer_id.lower()), 0)

    def keep(self, tenant: str, customer_id: str, epoch: int, docs: Iterable[Any]) -> None:
        """Keep ``docs``, read since ``epoch``, unless a write moved the epoch meanwhile."""
        key = (tenant, customer_id.lower())
        with self._lock:
            if self._epochs.get(key, 0) != epoch:
                return
            held = self._docs.get(key)
            found = held[1] if held is not None and held[0] == epoch else {}
            for doc in docs:
                if isinstance(doc, Mapping) and isinstance(doc.get("id"), str):
                    found[doc["id"].lower()] = doc
            self._docs[key] = (epoch, found)
            self._docs.move_to_end(key)
            while len(self._docs) > self._limit:
                self._docs.popitem(last=False)

    def take(self, tenant: str, customer_id: str, subscription_id: str) -> Any | None:
        """The subscription's document read since the customer's last write there, or None."""
        key = (tenant, customer_id.lower())
        with self._lock:
            held = self._docs.get(key)
            if held is None or held[0] != self._epochs.get(key, 0):
                return None
            return held[1].get(subscription_id.lower())

    @contextlib.contextmanager
    def writing(self, tenant: str, customer_id: str) -> Iterator[None]:
        """Around a write to the customer in ``tenant``: what was read before it, or while it
        was under way, is forgotten."""
        self._moved(tenant, customer_id)
        try:
            yield
        finally:
            self._moved(tenant, customer_id)

    def _moved(self, tenant: str, customer_id: str) -> None:
        key = (tenant, customer_id.lower())
        with self._lock:
            self._epochs[key] = self._epochs.get(key, 0) + 1
            self._docs.pop(key, None)


class ClientWriter:
    """``applying.ports.Writer`` over one client per partner tenant (by short name).

    Subscription documents it reads are kept (``Documents``) so that a PATCH is built from
    the document the executor's re-check has just read rather than from a second GET."""

    def __init__(
        self, clients: Mapping[str, pc_client.PartnerCenterClient], tenants: Sequence[model.Tenant]
    ) -> None:
        self.clients = clients
        self.tenant_ids = {t.name: t.tenant_id for t in tenants}
        self.tenant_names = {t.name: t.display_name or t.name for t in tenants}
        #: Availabilities read during this apply, by (tenant, customer, product, sku): one
        #: read each, unless a cart line says the id went stale (10001).
        self._availabilities: dict[tuple[str, str, str, str], list[wire.Availability]] = {}
        #: Subscription documents read since their customer's last write (for PATCH bodies).
        self.documents = Documents()

    def get_subscription(self, tenant: str, customer_id: str, subscription_id: str) -> writes.Sub:
        epoch = self.documents.epoch(tenant, customer_id)
        try:
            doc = self.clients[tenant].get_subscription(customer_id, subscription_id)
        except api_errors.ApiNotFound as exc:
            raise errors.NotFound(str(exc)) from exc
        sub = to_sub(doc)
        self.documents.keep(tenant, customer_id, epoch, [doc])
        return sub

    def list_subscriptions(self, tenant: str, customer_id: str) -> Sequence[writes.Sub]:
        epoch = self.documents.epoch(tenant, customer_id)
        docs = self.clients[tenant].list_subscriptions(customer_id)
        subs = [to_sub(d) for d in docs]
        self.documents.keep(tenant, customer_id, epoch, docs)
        return subs

    def find_order_by_name(
        self, tenant: str, customer_id: str, friendly_name: str
    ) -> writes.Ordered | None:
        for order in self.clients[tenant].list_orders(customer_id):
            for item in order.get("lineItems") or []:
                if item.get("friendlyName") == friendly_name:
                    return writes.Ordered(order.get("id"), item.get("subscriptionId") or None)
        return None

    def order(
        self, tenant: str, customer_id: str, spec: writes.OrderSpec, *, request_id: str
    ) -> writes.Ordered:
        with self.documents.writing(tenant, customer_id):
            return self._order(tenant, customer_id, spec, request_id=request_id)

    def _order(
        self, tenant: str, customer_id: str, spec: writes.OrderSpec, *, request_id: str
    ) -> writes.Ordered:
        client = self.clients[tenant]
        try:
            if spec.channel is writes.OrderChannel.CART:
                return self._cart(client, customer_id, spec, request_id)
            item: dict[str, Any] = {
                "lineItemNumber": 0,
                "offerId": spec.offer_id,
                "quantity": spec.quantity,
                "friendlyName": spec.friendly_name,
            }
            if spec.term_duration:
                item["termDuration"] = spec.term_duration
            doc = client.create_order(
                customer_id,
                {"billingCycle": spec.billing_cycle, "lineItems": [item]},
                request_id=request_id,
            )
            return _ordered(doc)
        except api_errors.ApiConflict as exc:
            if exc.code in IN_PROGRESS:
                raise errors.OrderInProgress(str(exc)) from exc
            raise errors.OutcomeUnknown(str(exc)) from exc
        except api_errors.UnknownOutcome as exc:
            raise errors.OutcomeUnknown(str(exc)) from exc
        except api_errors.ApiBusinessError as exc:
            raise errors.WriteRejected(str(exc)) from exc

    def _cart(
        self,
        client: pc_client.PartnerCenterClient,
        customer_id: str,
        spec: writes.OrderSpec,
        request_id: str,
    ) -> writes.Ordered:
        line: dict[str, Any] = {
            "catalogItemId": self._catalog_item(client, customer_id, spec),
            "quantity": spec.quantity,
            "billingCycle": spec.billing_cycle,
            "friendlyName": spec.friendly_name,
        }
        if spec.term_duration:
            line["termDuration"] = spec.term_duration
        # The checkout is the write that orders, so it carries the journalled request id; the
        # cart gets one derived from it, so a resend reuses the same cart too.
        cart = client.create_cart(
            customer_id, [line], request_id=writes.cart_request_id(request_id)
        )
        cart_id = str(cart.get("id"))
        refused = line_errors(cart)
        if refused and all(code == STALE_AVAILABILITY for code, _, _ in refused):
            # Microsoft reissued the availability since it was read: read it again, once.
            line["catalogItemId"] = self._catalog_item(client, customer_id, spec, fresh=True)
            cart = client.update_cart(
                customer_id,
                cart_id,
                [line],
                request_id=writes.cart_request_id(f"{request_id}/fresh-availability"),
            )
            refused = line_errors(cart)
        if refused:
            raise errors.WriteRejected(_refusal(customer_id, spec, refused))
        try:
            result = client.checkout_cart(customer_id, cart_id, request_id=request_id)
        except (
            api_errors.UnknownOutcome,
            api_errors.ApiConflict,
            api_errors.ApiBusinessError,
        ) as exc:
            # 800065 "already submitted" or a lost answer: the cart's status is the truth.
            try:
                status = str(client.get_cart(customer_id, cart_id).get("status", ""))
            except api_errors.ApiError as unread:
                # The cart cannot be read either: whether it was checked out stays unknown
                # (the executor then looks for the marked order before anything is re-sent).
                raise errors.OutcomeUnknown(
                    f"{exc}; the cart {cart_id} could not be read afterwards ({unread})"
                ) from exc
            if status.lower() == "ordered":
                found = self.find_order_by_name(client.name, customer_id, spec.friendly_name)
                return found or writes.Ordered(None, None)
            raise
        if result.get("orderErrors"):
            err = result["orderErrors"][0]
            raise errors.WriteRejected(
                f"Partner Center refused the cart checkout (code {err.get('code')}): "
                f"{err.get('description', '')}"
            )
        orders = result.get("orders") or []
        return _ordered(orders[0]) if orders else writes.Ordered(None, None)

    def _catalog_item(
        self,
        client: pc_client.PartnerCenterClient,
        customer_id: str,
        spec: writes.OrderSpec,
        *,
        fresh: bool = False,
    ) -> str:
        """The current catalog item id for ``spec``: the customer's availability of its
        product and SKU whose terms carry the wanted term and billing cycle."""
        product, sku, wanted = _parts(spec.offer_id)
        key = (client.name, customer_id.lower(), product, sku)
        if fresh or key not in self._availabilities:
            try:
                self._availabilities[key] = client.list_availabilities(customer_id, product, sku)
            except api_errors.ApiNotFound as exc:
                raise errors.WriteRejected(
                    f"Partner Center does not offer product {product} SKU {sku} to customer "
                    f"{customer_id} ({exc}); nothing was bought. Check the offerId in the "
                    "Offers file against the catalog, then plan again."
                ) from exc
            except errors.WireFormatError as exc:
                raise errors.Unreadable(
                    f"Partner Center returned availabilities of {product}:{sku} for customer "
                    f"{customer_id} that cannot be read ({exc}); nothing was bought. Run the "
                    "apply again later."
                ) from exc
        found = pick_availability(
            self._availabilities[key], spec.term_duration, spec.billing_cycle, prefer=wanted
        )
        if found is None:
            term = spec.term_duration or "no term"
            raise errors.WriteRejected(
                f"Partner Center offers customer {customer_id} no availability of "
                f"{product}:{sku} with term {term} billed {spec.billing_cycle}; no cart was "
                "created. Choose a termDuration and billingCycle the product is sold with "
                "(Partner Center > Customers > Add products), then plan again."
            )
        return found

    def update(
        self,
        tenant: str,
        customer_id: str,
        subscription_id: str,
        patch: writes.SubscriptionPatch,
        *,
        request_id: str,
    ) -> writes.Sub:
        # The document the caller's re-check has just read (none read since our last write to
        # the customer there: the client reads it).
        current = self.documents.take(tenant, customer_id, subscription_id)
        try:
            with self.documents.writing(tenant, customer_id):
                doc = self.clients[tenant].update_subscription(
                    customer_id,
                    subscription_id,
                    patch_fields(patch),
                    request_id=request_id,
                    current=current,
                )
        except api_errors.UnknownOutcome as exc:
            raise errors.OutcomeUnknown(str(exc)) from exc
        except api_errors.ApiConflict as exc:
            # 2055/409/412: the client read the subscription again and the change is not
            # there; nothing was written. The caller re-checks and decides again.
            raise errors.ResourceChanged(str(exc)) from exc
        except api_errors.ApiBusinessError as exc:
            raise errors.WriteRejected(str(exc)) from exc
        return to_sub(doc)

    def request_transfer(
        self,
        tenant: str,
        customer_id: str,
        source_tenant: str,
        subscription_id: str,
        quantity: int,
        *,
        request_id: str,
        kinds: Collection[model.CommerceModel] = (model.CommerceModel.NCE_LICENSE,),
    ) -> str:
        client = self.clients[tenant]
        body = {
            "sourcePartnerTenantId": self.tenant_ids[source_tenant],
            "sourcePartnerName": self.tenant_names[source_tenant],
            "customerEmailId": self._customer_email(client, customer_id),
            "targetProductTypes": product_types(kinds),
        }
        try:
            with self.documents.writing(tenant, customer_id):
                doc = client.create_transfer(customer_id, body, request_id=request_id)
        except api_errors.UnknownOutcome as exc:
            raise errors.OutcomeUnknown(str(exc)) from exc
        except api_errors.ApiBusinessError as exc:
            raise errors.WriteRejected(str(exc)) from exc
        return str(doc.get("id"))

    @staticmethod
    def _customer_email(client: pc_client.PartnerCenterClient, customer_id: str) -> str:
        """The customer's contact for a transfer (``customerEmailId``, required): the email of
        its billing profile as the target reads it."""
        profile = client.get_billing_profile(customer_id)
        email = str(profile.get("email") or "").strip() if isinstance(profile, dict) else ""
        if not email:
            raise errors.WriteRejected(
                f"customer {customer_id} has no email in its billing profile in tenant "
                f"'{client.name}', and a transfer request must name the customer's email "
                "(customerEmailId); no transfer is requested. Add the email to the customer's "
                "billing profile in Partner Center, then run apply again."
            )
        return email

    def list_transfers(
        self, tenant: str, customer_id: str, source_tenant: str
    ) -> Sequence[model.LiveTransfer]:
        source_id = self.tenant_ids[source_tenant].lower()
        try:
            docs = self.clients[tenant].list_transfers(customer_id)
            found = [wire.to_live_transfer(d) for d in docs]
        except errors.WireFormatError as exc:
            raise errors.Unreadable(
                f"Partner Center returned a transfer request of customer {customer_id} that "
                f"cannot be read ({exc}); no transfer is requested. Check the customer's "
                "transfers in Partner Center, then plan again."
            ) from exc
        return [t for t in found if t.source_partner_id == source_id]

    def get_transfer(self, tenant: str, customer_id: str, transfer_id: str) -> model.LiveTransfer:
        try:
            return _live_transfer(self.clients[tenant].get_transfer(customer_id, transfer_id))
        except api_errors.ApiNotFound as exc:
            raise errors.NotFound(str(exc)) from exc

    def accept_transfer(
        self,
        tenant: str,
        customer_id: str,
        transfer_id: str,
        lines: Sequence[writes.Sub],
        *,
        request_id: str,
    ) -> model.LiveTransfer:
        items = [transfer_line(n, sub) for n, sub in enumerate(lines)]
        try:
            with self.documents.writing(tenant, customer_id):
                doc = self.clients[tenant].accept_transfer(
                    customer_id, transfer_id, items, request_id=request_id
                )
        except api_errors.UnknownOutcome as exc:
            raise errors.OutcomeUnknown(str(exc)) from exc
        except api_errors.ApiBusinessError as exc:
            raise errors.WriteRejected(str(exc)) from exc
        return _live_transfer(doc)

    def azure_subscriptions(
        self, tenant: str, customer_id: str, subscription_id: str
    ) -> frozenset[str]:
        try:
            items = self.clients[tenant].list_azure_entitlements(customer_id, subscription_id)
        except (api_errors.ApiError, errors.WireFormatError) as exc:
            raise errors.Unreadable(
                f"the Azure subscriptions of Azure plan {subscription_id} (customer "
                f"{customer_id}) in tenant '{tenant}' could not be read ({exc}); the step does "
                "not count them. Check the Azure plan in Partner Center, then plan again."
            ) from exc
        found = {
            str(item.get("id") or "").lower()
            for item in items
            if isinstance(item, Mapping) and item.get("id")
        }
        return frozenset(found)

    def subscriptions_of_order(
        self, tenant: str, customer_id: str, order_id: str
    ) -> Sequence[writes.Sub]:
        epoch = self.documents.epoch(tenant, customer_id)
        docs = self.clients[tenant].list_subscriptions(customer_id, order_id=order_id)
        subs = [to_sub(d) for d in docs]
        self.documents.keep(tenant, customer_id, epoch, docs)
        return subs

    def agreement_confirmed(self, tenant: str, customer_id: str) -> bool:
        client = self.clients[tenant]
        try:
            items = client.list_agreements(customer_id)
        except api_errors.ApiNeedsUser as exc:
            raise errors.WriteRejected(_needs_user(client.name, customer_id, exc)) from exc
        except errors.WireFormatError as exc:
            raise errors.Unreadable(
                f"Partner Center returned agreements of customer {customer_id} that cannot be "
                f"read ({exc}); nothing is recorded. Run the apply again later."
            ) from exc
        return any(is_mca(a) for a in items)

    def record_agreement(
        self,
        tenant: str,
        customer_id: str,
        agreement: writes.AgreementSpec,
        *,
        request_id: str,
    ) -> writes.AgreementRecorded:
        client = self.clients[tenant]
        try:
            template = _template_id(client.list_agreement_templates())
            body = agreement_body(agreement, template)
            with self.documents.writing(tenant, customer_id):
                client.create_agreement(customer_id, body, request_id=request_id)
        except api_errors.ApiNeedsUser as exc:
            raise errors.WriteRejected(_needs_user(client.name, customer_id, exc)) from exc
        except api_errors.UnknownOutcome as exc:
            raise errors.OutcomeUnknown(str(exc)) from exc
        except api_errors.ApiError as exc:
            if exc.code != AGREEMENT_EXISTS:
                if isinstance(exc, api_errors.ApiBusinessError | api_errors.ApiForbidden):
                    raise errors.WriteRejected(str(exc)) from exc
                raise
            # "A partner confirmed agreement already exists for the customer": the same
            # contact was confirmed before (a lost answer, another run). Read it back.
            if not self.agreement_confirmed(tenant, customer_id):
                raise errors.WriteRejected(
                    f"{exc} Yet the customer's agreements list no confirmed acceptance of the "
                    "Microsoft Customer Agreement; nothing was bought. Check the customer's "
                    "account in Partner Center, then plan again."
                ) from exc
            return writes.AgreementRecorded(template, already=True)
        return writes.AgreementRecorded(template)

    def correlation_id(self, tenant: str) -> str:
        return str(self.clients[tenant].transport.correlation_id)


#: "A partner confirmed agreement already exists for the customer"
#: (``PartnerConfirmedAgreementAlreadyExists``): the same contact was confirmed before.
AGREEMENT_EXISTS = 600061


def is_mca(doc: Any) -> bool:
    """Whether an ``Agreement`` (or its metadata) is of the Microsoft Customer Agreement."""
    if not isinstance(doc, Mapping):
        return False
    kind = doc.get("type") or doc.get("agreementType") or ""
    return str(kind).lower() == pc_client.MCA.lower()


def _template_id(items: Sequence[Any]) -> str:
    """The ``templateId`` of the Microsoft Customer Agreement's metadata (the highest
    ``versionRank`` when several are listed)."""
    found = [
        (int(d.get("versionRank") or 0), str(d["templateId"]))
        for d in items
        if is_mca(d) and isinstance(d.get("templateId"), str) and d["templateId"].strip()
    ]
    if not found:
        raise errors.Unreadable(
            "Partner Center listed no template of the Microsoft Customer Agreement "
            "(GET /v1/agreements?agreementType=MicrosoftCustomerAgreement), so the "
            "acceptance cannot be recorded; nothing was bought. Run the apply again later, or "
            "confirm the acceptance in Partner Center (Customers > the customer > Account)."
        )
    return max(found)[1]


def agreement_body(agreement: writes.AgreementSpec, template_id: str) -> dict[str, Any]:
    """The ``Agreement`` a confirmation posts (Microsoft's field table: ``primaryContact``
    with ``firstName``, ``lastName``, ``email`` and optional ``phoneNumber``; ``templateId``;
    ``dateAgreed`` in UTC date time; ``type``)."""
    contact = {
        "firstName": agreement.first_name,
        "lastName": agreement.last_name,
        "email": agreement.email,
    }
    if agreement.phone_number:
        contact["phoneNumber"] = agreement.phone_number
    return {
        "primaryContact": contact,
        "templateId": template_id,
        "dateAgreed": f"{agreement.date_agreed}T00:00:00Z",
        "type": pc_client.MCA,
    }


def _needs_user(tenant: str, customer_id: str, exc: Exception) -> str:
    return (
        f"Recording customer {customer_id}'s acceptance of the Microsoft Customer Agreement "
        f"needs a signed-in user (App+User) in tenant '{tenant}' ({exc}); nothing was "
        f"recorded or bought. Run `reconciler login {tenant}`, then apply again."
    )


#: ``targetProductTypes`` of a transfer request: licenses (new commerce) or an Azure plan.
LICENSE_PRODUCT, AZURE_PRODUCT = "OnlineServicesNCE", "AzureSubscription"


def product_types(kinds: Collection[model.CommerceModel]) -> list[str]:
    """The ``targetProductTypes`` of a request moving ``kinds`` (Microsoft's "Create a
    transfer": a list, so one request carries new-commerce licenses and Azure plan
    subscriptions together; Azure plan subscriptions are ``AzureSubscription``)."""
    azure = model.CommerceModel.AZURE_PLAN
    types = []
    if not kinds or any(k is not azure for k in kinds):
        types.append(LICENSE_PRODUCT)
    if azure in kinds:
        types.append(AZURE_PRODUCT)
    return types


def transfer_line(number: int, sub: writes.Sub) -> dict[str, Any]:
    """One ``TransferLineItem`` of an acceptance: the subscription as the source holds it."""
    line: dict[str, Any] = {
        "id": number,
        "subscriptionId": sub.id,
        "quantity": sub.quantity,
        "offerId": sub.offer_id,
        "friendlyName": sub.friendly_name,
    }
    if sub.billing_cycle:
        line["billingCycle"] = sub.billing_cycle
    return line


def _live_transfer(doc: Any) -> model.LiveTransfer:
    try:
        return wire.to_live_transfer(doc)
    except errors.WireFormatError as exc:
        raise errors.Unreadable(
            f"Partner Center returned a transfer request that cannot be read ({exc}); the "
            "step is not attempted. Check the transfer in Partner Center, then plan again."
        ) from exc


#: Cart line error "CatalogItemIdIsNotValid": typically an availability reissued since read.
STALE_AVAILABILITY = 10001

#: What to do about a cart line error, by code (CartErrorCode in Microsoft's .NET SDK).
_LINE_ADVICE = {
    10001: "read the product's availabilities again and plan again; if it persists, check "
    "the offerId in the Offers file",
    10015: "lower the quantity of the entry or split it over two subscriptions",
    500600: "Microsoft no longer sells this legacy offer: buy its new-commerce successor "
    "(an Offers entry that `replaces` it)",
    10012: "accept the attestation the product requires in Partner Center, then apply again",
}


def _parts(offer_id: str) -> tuple[str, str, str]:
    """(product, sku, availability or "") of a new-commerce id ``PRODUCT:SKU[:AVAILABILITY]``."""
    parts = [p.strip().upper() for p in offer_id.split(":")]
    return parts[0], parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else ""


def pick_availability(
    found: Sequence[Mapping[str, Any]], term: str | None, cycle: str, *, prefer: str = ""
) -> str | None:
    """The ``catalogItemId`` of the purchasable availability whose ``terms`` carry ``term``
    (ISO duration) billed ``cycle``; the one with id ``prefer`` when several fit. Without a
    term (the Azure plan: usage, no commitment) an availability without terms, or with a term
    of no duration, fits whatever its billing cycle."""
    fitting = []
    for avail in found:
        if not isinstance(avail, Mapping) or avail.get("isPurchasable") is False:
            continue
        terms = [t for t in avail.get("terms") or [] if isinstance(t, Mapping)]
        if not term:
            fits = not terms or any(not str(t.get("duration") or "") for t in terms)
        else:
            fits = any(
                str(t.get("duration") or "").upper() == term.upper()
                and str(t.get("billingCycle") or "").lower() == cycle.lower()
                for t in terms
            )
        if fits:
            item = avail.get("catalogItemId") or ":".join(
                str(avail.get(k) or "") for k in ("productId", "skuId", "id")
            )
            fitting.append((str(avail.get("id") or "").upper() != prefer, str(item)))
    return min(fitting)[1] if fitting else None


def line_errors(cart: Mapping[str, Any]) -> list[tuple[int | None, str, int]]:
    """(code, description, line id) of every cart line that carries an ``error``."""
    found = []
    for item in cart.get("lineItems") or []:
        err = item.get("error") if isinstance(item, Mapping) else None
        if isinstance(err, Mapping) and err:
            code = err.get("errorCode")
            try:
                number = int(code) if code is not None else None
            except (TypeError, ValueError):
                number = None
            found.append((number, str(err.get("errorDescription") or ""), int(item.get("id", 0))))
    return found


def _refusal(
    customer_id: str, spec: writes.OrderSpec, refused: list[tuple[int | None, str, int]]
) -> str:
    code, text, line = refused[0]
    advice = _LINE_ADVICE.get(code or 0, "correct the entry in the manifest, then plan again")
    return (
        f"Partner Center refused cart line {line} ({spec.quantity} x {spec.offer_id} as "
        f'"{spec.friendly_name}") for customer {customer_id} with error {code}: {text}; the '
        f"cart was not checked out, so nothing was bought. To go on: {advice}."
    )


def _ordered(doc: Mapping[str, Any]) -> writes.Ordered:
    items = doc.get("lineItems") or []
    sid = items[0].get("subscriptionId") if items else None
    return writes.Ordered(doc.get("id"), str(sid).lower() if sid else None)
