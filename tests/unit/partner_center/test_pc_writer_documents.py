"""The writer builds a subscription PATCH from the document its caller has just read (one GET
per PATCH, not two), and never from one read before a write of this run to the same customer
in the same tenant, nor from one read while such a write was under way."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler import errors, writes
from reconciler.partner_center import errors as api_errors
from reconciler.partner_center import writer as apply_writer

SUSPEND = writes.SubscriptionPatch(status=writes.SubscriptionStatus.SUSPENDED)


def _doc(sid: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "offerId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
        "friendlyName": "Office",
        "quantity": 10,
        "status": "active",
        "autoRenewEnabled": True,
        "billingCycle": "monthly",
        **fields,
    }


class SubsClient:
    """A client holding subscriptions per customer; records reads and each PATCH's base."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.subs: dict[str, dict[str, dict[str, Any]]] = {}
        self.reads: list[str] = []
        #: The ``current`` document each update was given (None: the client read it itself).
        self.given: list[dict[str, Any] | None] = []
        self.fail: Exception | None = None

    def get_subscription(self, customer_id: str, sid: str) -> Any:
        self.reads.append(f"get {customer_id}/{sid}")
        return dict(self.subs[customer_id][sid])

    def list_subscriptions(self, customer_id: str, *, order_id: str | None = None) -> Any:
        self.reads.append(f"list {customer_id}")
        return [dict(d) for d in self.subs.get(customer_id.lower(), {}).values()]

    def update_subscription(
        self,
        customer_id: str,
        sid: str,
        changes: dict[str, Any],
        *,
        request_id: str,
        current: Any = None,
    ) -> Any:
        self.given.append(current)
        if self.fail is not None:
            raise self.fail
        doc = self.subs[customer_id.lower()][sid.lower()]
        doc.update(changes)
        return dict(doc)

    def create_order(self, customer_id: str, order: Any, *, request_id: str) -> Any:
        return {"id": "o1", "lineItems": [{"subscriptionId": "new"}]}


def _writer(*names: str) -> tuple[apply_writer.ClientWriter, dict[str, SubsClient]]:
    clients = {n: SubsClient(n) for n in names}
    for client in clients.values():
        client.subs = {"c1": {"s1": _doc("s1"), "s2": _doc("s2")}, "c2": {"s1": _doc("s1")}}
    return apply_writer.ClientWriter(clients, []), clients  # type: ignore[arg-type]


def test_the_patch_is_built_from_the_document_just_read() -> None:
    w, clients = _writer("de")
    w.get_subscription("de", "c1", "s1")
    sub = w.update("de", "c1", "s1", SUSPEND, request_id="r")
    assert sub.status is writes.SubscriptionStatus.SUSPENDED
    assert clients["de"].reads == ["get c1/s1"]
    assert clients["de"].given == [_doc("s1")]


def test_a_list_read_serves_every_subscription_it_holds() -> None:
    w, clients = _writer("central")
    w.list_subscriptions("central", "C1")  # ids compare case-insensitively
    w.update("central", "c1", "S2", writes.SubscriptionPatch(quantity=12), request_id="r")
    assert clients["central"].given == [_doc("s2")]


def test_a_document_read_before_a_write_to_the_customer_is_not_reused() -> None:
    w, clients = _writer("de")
    w.list_subscriptions("de", "c1")
    w.update("de", "c1", "s1", SUSPEND, request_id="r1")
    # s2 was read before s1's suspension (which may have moved it: an add-on follows its
    # base): the client reads it again.
    w.update("de", "c1", "s2", SUSPEND, request_id="r2")
    assert clients["de"].given == [_doc("s1"), None]


def test_an_order_forgets_what_was_read_of_its_customer() -> None:
    w, clients = _writer("central")
    w.get_subscription("central", "c1", "s1")
    spec = writes.OrderSpec("OFFER", 5, "monthly", None, "X [rc:x]", writes.OrderChannel.ORDER)
    w.order("central", "c1", spec, request_id="o")
    w.update("central", "c1", "s1", writes.SubscriptionPatch(quantity=12), request_id="r")
    assert clients["central"].given == [None]


def test_reads_and_writes_of_other_customers_and_tenants_do_not_count() -> None:
    w, clients = _writer("de", "fr")
    w.get_subscription("de", "c1", "s1")
    w.get_subscription("de", "c2", "s1")
    w.update("de", "c2", "s1", SUSPEND, request_id="r1")  # another customer's write
    w.update("fr", "c1", "s1", SUSPEND, request_id="r2")  # nothing read in fr
    w.update("de", "c1", "s1", SUSPEND, request_id="r3")
    assert clients["fr"].given == [None]
    assert clients["de"].given == [_doc("s1"), _doc("s1")]


def test_after_a_failed_write_the_next_patch_reads_again() -> None:
    w, clients = _writer("de")
    w.get_subscription("de", "c1", "s1")
    clients["de"].fail = api_errors.ApiConflict(
        status=400, code=2055, description="Etag is no longer valid", method="PATCH", path="/p"
    )
    with pytest.raises(errors.ResourceChanged):
        w.update("de", "c1", "s1", SUSPEND, request_id="r1")
    clients["de"].fail = None
    w.update("de", "c1", "s1", SUSPEND, request_id="r2")
    assert clients["de"].given == [_doc("s1"), None]


def test_a_read_made_while_a_write_was_under_way_is_not_kept() -> None:
    docs = apply_writer.Documents()
    epoch = docs.epoch("de", "c1")
    with docs.writing("de", "c1"):
        during = docs.epoch("de", "c1")
        docs.keep("de", "c1", during, [_doc("s1")])  # read and answered during the write
    docs.keep("de", "c1", epoch, [_doc("s2")])  # read before the write, answered after
    assert docs.take("de", "c1", "s1") is None
    assert docs.take("de", "c1", "s2") is None
    docs.keep("de", "c1", docs.epoch("de", "c1"), [_doc("s1")])
    assert docs.take("de", "c1", "s1") == _doc("s1")


def test_documents_are_bounded_by_customer() -> None:
    docs = apply_writer.Documents(limit=2)
    for n in range(3):
        docs.keep("de", f"c{n}", 0, [_doc("s1")])
    assert docs.take("de", "c0", "s1") is None  # the least recently read, forgotten
    assert docs.take("de", "c2", "s1") == _doc("s1")
