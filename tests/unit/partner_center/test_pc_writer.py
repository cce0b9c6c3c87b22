"""The adapter from the Partner Center client to the executor's port: lost answers become
"unknown" (or are resolved by the cart's status), refusals become "rejected", the checkout
carries the journalled request id."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler import errors, model, writes
from reconciler.applying import ports
from reconciler.partner_center import errors as api_errors
from reconciler.partner_center import writer as apply_writer

SPEC = ports.OrderSpec(
    "CFQ7TTC0LH18:0001:CFQ7TTC0K971", 5, "monthly", "P1Y", "BB [rc:bb]", ports.OrderChannel.CART
)


def _availability(aid: str, *terms: tuple[str, str]) -> dict[str, Any]:
    return {
        "id": aid,
        "productId": "CFQ7TTC0LH18",
        "skuId": "0001",
        "catalogItemId": f"CFQ7TTC0LH18:0001:{aid}",
        "terms": [
            {"id": f"t{i}", "duration": d, "billingCycle": c}
            for i, (d, c) in enumerate(terms or (("P1M", "Monthly"), ("P1Y", "Monthly")))
        ],
    }


def _err(cls: type[api_errors.ApiError], status: int) -> api_errors.ApiError:
    return cls(status=status, code=None, description="x", method="POST", path="/p")


class FakeClient:
    name = "central"

    def __init__(self, *, checkout: Any = None, cart_status: str = "Active") -> None:
        self.calls: list[tuple[str, str]] = []
        self.checkout = checkout
        self.cart_status = cart_status
        self.orders: list[dict[str, Any]] = []
        #: What each availability read answers, in turn (the last one repeats).
        self.availabilities: list[list[dict[str, Any]]] = [[_availability("CFQ7TTC0K971")]]
        #: The line error each cart write answers, in turn (None: no error).
        self.line_errors: list[dict[str, Any] | None] = [None]
        self.lines: list[list[dict[str, Any]]] = []

    def list_availabilities(self, customer_id: str, product: str, sku: str) -> Any:
        self.calls.append(("availabilities", f"{product}:{sku}"))
        answer = self.availabilities[0]
        if len(self.availabilities) > 1:
            self.availabilities.pop(0)
        return answer

    def _cart(self, items: Any) -> dict[str, Any]:
        self.lines.append([dict(i) for i in items])
        error = self.line_errors.pop(0) if len(self.line_errors) > 1 else self.line_errors[0]
        line = {"id": 0, **items[0], **({"error": error} if error else {})}
        return {"id": "cart-1", "lineItems": [line]}

    def create_cart(self, customer_id: str, items: Any, *, request_id: str) -> dict[str, Any]:
        self.calls.append(("cart", request_id))
        return self._cart(items)

    def update_cart(
        self, customer_id: str, cart_id: str, items: Any, *, request_id: str
    ) -> dict[str, Any]:
        self.calls.append(("update-cart", request_id))
        return self._cart(items)

    def checkout_cart(self, customer_id: str, cart_id: str, *, request_id: str) -> Any:
        self.calls.append(("checkout", request_id))
        if isinstance(self.checkout, Exception):
            raise self.checkout
        return self.checkout

    def get_cart(self, customer_id: str, cart_id: str) -> dict[str, Any]:
        return {"id": cart_id, "status": self.cart_status}

    def list_orders(self, customer_id: str) -> list[dict[str, Any]]:
        return self.orders

    def update_subscription(self, *args: Any, request_id: str, current: Any = None) -> Any:
        raise self.checkout

    def get_subscription(self, customer_id: str, sid: str) -> Any:
        raise _err(api_errors.ApiNotFound, 404)


def _writer(client: FakeClient) -> apply_writer.ClientWriter:
    return apply_writer.ClientWriter({"central": client}, [])  # type: ignore[dict-item]


def test_the_checkout_carries_the_journalled_request_id() -> None:
    done = {"orders": [{"id": "o1", "lineItems": [{"subscriptionId": "ABC"}]}], "orderErrors": []}
    client = FakeClient(checkout=done)
    got = _writer(client).order("central", "c", SPEC, request_id="rid-1")
    assert got == ports.Ordered("o1", "abc")
    assert client.calls[2] == ("checkout", "rid-1") and client.calls[1][1] != "rid-1"
    # The cart's id is the one the executor journals before sending (writes.cart_request_id).
    assert client.calls[1] == ("cart", writes.cart_request_id("rid-1"))


def test_a_lost_checkout_of_an_ordered_cart_is_found_by_its_friendly_name() -> None:
    client = FakeClient(checkout=_err(api_errors.UnknownOutcome, 0), cart_status="Ordered")
    client.orders = [
        {"id": "o9", "lineItems": [{"friendlyName": "BB [rc:bb]", "subscriptionId": "s9"}]}
    ]
    assert _writer(client).order("central", "c", SPEC, request_id="r") == ports.Ordered("o9", "s9")


def test_a_lost_checkout_of_an_open_cart_stays_unknown() -> None:
    client = FakeClient(checkout=_err(api_errors.UnknownOutcome, 0))
    with pytest.raises(errors.OutcomeUnknown):
        _writer(client).order("central", "c", SPEC, request_id="r")


def test_order_errors_in_the_checkout_are_a_definite_refusal() -> None:
    result = {"orders": [], "orderErrors": [{"code": 800002, "description": "bad"}]}
    with pytest.raises(errors.WriteRejected, match="800002"):
        _writer(FakeClient(checkout=result)).order("central", "c", SPEC, request_id="r")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_err(api_errors.UnknownOutcome, 0), errors.OutcomeUnknown),
        (_err(api_errors.ApiBusinessError, 400), errors.WriteRejected),
        # 2055 at any status (and 409/412): changed since read, nothing written.
        (
            api_errors.ApiConflict(
                status=400, code=2055, description="Etag", method="PATCH", path="/p"
            ),
            errors.ResourceChanged,
        ),
        (_err(api_errors.ApiConflict, 412), errors.ResourceChanged),
    ],
)
def test_update_failures_map_to_the_ports_kinds(error: Exception, expected: type) -> None:
    with pytest.raises(expected):
        _writer(FakeClient(checkout=error)).update(
            "central", "c", "s", ports.SubscriptionPatch(), request_id="r"
        )


def test_a_missing_subscription_is_not_found() -> None:
    with pytest.raises(errors.NotFound):
        _writer(FakeClient()).get_subscription("central", "c", "s")


def test_a_malformed_subscription_is_unreadable_not_guessed() -> None:
    with pytest.raises(errors.Unreadable, match="cannot be read"):
        apply_writer.to_sub({"id": "s1"})


class TransferClient(FakeClient):
    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__()
        self.items = items

    def list_transfers(self, customer_id: str) -> list[dict[str, Any]]:
        return self.items


def _transfer(tid: str, source: str, status: str = "InProgress") -> dict[str, Any]:
    return {
        "id": tid,
        "status": status,
        "sourcePartnerTenantId": source,
        "targetPartnerTenantId": "T-CENTRAL",
        "createdTime": "2026-03-01T00:00:00Z",
        "lineItems": [],
    }


def test_transfers_are_listed_for_the_named_source_partner_only() -> None:
    from reconciler import model

    client = TransferClient([_transfer("a", "T-DE"), _transfer("b", "t-fr", "Expired")])
    tenants = [
        model.Tenant("central", "t-central", "IE", model.Role.TARGET),
        model.Tenant("de", "t-de", "DE", model.Role.SOURCE),
        model.Tenant("fr", "t-fr", "FR", model.Role.SOURCE),
    ]
    writer = apply_writer.ClientWriter({"central": client}, tenants)  # type: ignore[dict-item]
    [found] = writer.list_transfers("central", "c1", "de")
    assert found.id == "a" and found.status is model.TransferStatus.PENDING
    [ended] = writer.list_transfers("central", "c1", "fr")
    assert ended.status is model.TransferStatus.EXPIRED


def test_a_malformed_transfer_is_unreadable_so_nothing_is_sent() -> None:
    from reconciler import model

    client = TransferClient([{"id": "a"}])
    tenants = [model.Tenant("de", "t-de", "DE", model.Role.SOURCE)]
    writer = apply_writer.ClientWriter({"central": client}, tenants)  # type: ignore[dict-item]
    with pytest.raises(errors.Unreadable, match="no transfer is requested"):
        writer.list_transfers("central", "c1", "de")


@pytest.mark.parametrize("code", [800064, 800060])
def test_a_checkout_still_being_processed_is_in_progress_not_just_unknown(code: int) -> None:
    busy = api_errors.ApiConflict(
        status=409, code=code, description="being processed", method="POST", path="/p"
    )
    with pytest.raises(errors.OrderInProgress):
        _writer(FakeClient(checkout=busy)).order("central", "c", SPEC, request_id="r")
    other = api_errors.ApiConflict(
        status=409, code=800002, description="conflict", method="POST", path="/p"
    )
    with pytest.raises(errors.OutcomeUnknown) as got:
        _writer(FakeClient(checkout=other)).order("central", "c", SPEC, request_id="r")
    assert not isinstance(got.value, errors.OrderInProgress)


@pytest.mark.parametrize(
    ("patch", "wire_fields"),
    [
        (
            ports.SubscriptionPatch(status=model.SubscriptionStatus.SUSPENDED),
            {"status": "suspended"},
        ),
        (ports.SubscriptionPatch(quantity=30), {"quantity": 30}),
        (ports.SubscriptionPatch(auto_renew=False), {"autoRenewEnabled": False}),
        (ports.SubscriptionPatch(), {}),
    ],
)
def test_a_patch_names_exactly_the_wire_fields_it_changes(
    patch: ports.SubscriptionPatch, wire_fields: dict[str, object]
) -> None:
    assert apply_writer.patch_fields(patch) == wire_fields


# -- the current availability before each cart line (issue 12 point 3) ---------------------

DONE = {"orders": [{"id": "o1", "lineItems": [{"subscriptionId": "s1"}]}], "orderErrors": []}


def test_the_cart_line_uses_the_availability_with_the_wanted_term_and_cycle() -> None:
    client = FakeClient(checkout=DONE)
    client.availabilities = [
        [
            _availability("CFQ7TTC0AAAA", ("P1Y", "Annual")),
            _availability("CFQ7TTC0BBBB", ("P1M", "Monthly"), ("P1Y", "Monthly")),
        ]
    ]
    # The manifest's availability part (K971) is gone: the id Partner Center offers today wins.
    _writer(client).order("central", "c", SPEC, request_id="r")
    assert client.calls[0] == ("availabilities", "CFQ7TTC0LH18:0001")
    assert client.lines[0][0]["catalogItemId"] == "CFQ7TTC0LH18:0001:CFQ7TTC0BBBB"


def test_product_and_sku_alone_are_completed_from_the_availability() -> None:
    client = FakeClient(checkout=DONE)
    spec = ports.OrderSpec("CFQ7TTC0LH18:0001", 5, "monthly", "P1Y", "BB [rc:bb]", SPEC.channel)
    _writer(client).order("central", "c", spec, request_id="r")
    assert client.lines[0][0]["catalogItemId"] == "CFQ7TTC0LH18:0001:CFQ7TTC0K971"


def test_one_availability_read_per_customer_product_and_sku() -> None:
    client = FakeClient(checkout=DONE)
    writer = _writer(client)
    writer.order("central", "c", SPEC, request_id="r1")
    writer.order("central", "c", SPEC, request_id="r2")
    writer.order("central", "other", SPEC, request_id="r3")
    reads = [call for call in client.calls if call[0] == "availabilities"]
    assert len(reads) == 2


def test_no_matching_availability_fails_before_any_cart() -> None:
    client = FakeClient(checkout=DONE)
    client.availabilities = [[_availability("CFQ7TTC0AAAA", ("P1Y", "Annual"))]]
    with pytest.raises(errors.WriteRejected) as got:
        _writer(client).order("central", "c", SPEC, request_id="r")
    assert "no availability of CFQ7TTC0LH18:0001 with term P1Y billed monthly" in str(got.value)
    assert "no cart was created" in str(got.value)
    assert [c[0] for c in client.calls] == ["availabilities"]


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (500600, "new-commerce successor"),
        (10015, "lower the quantity"),
        (10010, "correct the entry in the manifest"),
    ],
)
def test_a_cart_line_error_fails_the_step_before_checkout(code: int, advice: str) -> None:
    client = FakeClient(checkout=DONE)
    client.line_errors = [{"errorCode": code, "errorDescription": "refused here"}]
    with pytest.raises(errors.WriteRejected) as got:
        _writer(client).order("central", "c", SPEC, request_id="r")
    text = str(got.value)
    assert f"refused cart line 0 (5 x {SPEC.offer_id}" in text
    assert f"error {code}: refused here" in text and advice in text
    assert "not checked out" in text
    assert "checkout" not in [c[0] for c in client.calls]


def test_a_stale_availability_is_read_again_once_and_the_cart_updated() -> None:
    client = FakeClient(checkout=DONE)
    client.availabilities = [[_availability("CFQ7TTC0OLD1")], [_availability("CFQ7TTC0NEW1")]]
    client.line_errors = [{"errorCode": 10001, "errorDescription": "not valid"}, None]
    assert _writer(client).order("central", "c", SPEC, request_id="r") == ports.Ordered("o1", "s1")
    assert [c[0] for c in client.calls] == [
        "availabilities",
        "cart",
        "availabilities",
        "update-cart",
        "checkout",
    ]
    assert client.lines[1][0]["catalogItemId"] == "CFQ7TTC0LH18:0001:CFQ7TTC0NEW1"


def test_a_stale_availability_twice_is_a_refusal_without_checkout() -> None:
    client = FakeClient(checkout=DONE)
    client.line_errors = [{"errorCode": 10001, "errorDescription": "not valid"}]
    with pytest.raises(errors.WriteRejected, match="error 10001"):
        _writer(client).order("central", "c", SPEC, request_id="r")
    assert [c[0] for c in client.calls].count("update-cart") == 1
    assert "checkout" not in [c[0] for c in client.calls]
