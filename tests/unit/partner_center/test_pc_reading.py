"""The live-state reader: complete, typed, and never mistaking an error for an absence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import responses
from pc_fakes import API

from reconciler import errors, model
from reconciler.partner_center import client as pc_client
from reconciler.partner_center import reading, wire

Make = Callable[..., pc_client.PartnerCenterClient]
ORIGIN = model.Origin("manifests/consolidation.yaml", 1)
TARGET = model.Tenant("central", "t-central", "IE", model.Role.TARGET)
SOURCE = model.Tenant("de", "t-de", "DE", model.Role.SOURCE)
CONS = model.Consolidation("c", TARGET, (SOURCE,), model.Policy(), ORIGIN)


def _customer(cid: str) -> dict[str, object]:
    return {
        "id": cid,
        "companyProfile": {"tenantId": cid, "companyName": f"Co {cid}", "domain": f"{cid}.example"},
        "relationshipToPartner": "reseller",
    }


def _subscription(
    sid: str, offer: str = "2828BE95-46BA-4F91-B2FD-0BEF192ECF60", **extra: object
) -> dict[str, object]:
    return {
        "id": sid,
        "offerId": offer,
        "offerName": "O",
        "quantity": 5,
        "status": "active",
        "billingType": "license",
        "billingCycle": "monthly",
        "creationDate": "2024-03-01T09:12:15.0966728Z",
        "attributes": {"etag": "e", "objectType": "Subscription"},
        **extra,
    }


def _world(mocked: responses.RequestsMock, customers: list[str], page: int = 2) -> None:
    """A paged customer list (pages of ``page``) and two subscriptions per customer."""
    pages = [customers[i : i + page] for i in range(0, len(customers), page)] or [[]]
    for n, chunk in enumerate(pages):
        links = {}
        if n + 1 < len(pages):
            links["next"] = {
                "uri": "/customers?size=100&seekOperation=Next",
                "headers": [{"key": "MS-ContinuationToken", "value": f"p{n + 1}"}],
            }
        match = (
            [responses.matchers.header_matcher({"MS-ContinuationToken": f"p{n}"})]
            if n
            else [responses.matchers.query_string_matcher("size=100")]
        )
        mocked.get(
            f"{API}/v1/customers",
            match=match,
            json={"items": [_customer(c) for c in chunk], "links": links},
        )
    for c in customers:
        mocked.get(
            f"{API}/v1/customers/{c}/subscriptions",
            json={"items": [_subscription(f"{c}-S2"), _subscription(f"{c}-s1")]},
        )


def _clients(make_client: Make, **kw: object) -> dict[str, pc_client.PartnerCenterClient]:
    return {"central": make_client(**kw), "de": make_client()}


def test_reading_all_customers_lists_them_once_and_reads_each_subscriptions_once(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    names = [f"c{i}" for i in range(5)]
    _world(mocked, names)
    state = reading.read_live_state(
        CONS,
        _clients(make_client),
        customers=None,
        now=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        transfers=(),
    )
    for tenant in ("central", "de"):
        view = state.view(tenant)
        assert view is not None
        assert sorted(view.customers) == names
        for cv in view.customers.values():
            assert cv.status is model.ReadStatus.OK
            assert [s.id for s in cv.subscriptions] == [f"{cv.tenant_id}-s1", f"{cv.tenant_id}-s2"]
            assert cv.name == f"Co {cv.tenant_id}"
    # per tenant: 3 list pages + 5 subscription lists
    assert len(mocked.calls) == 2 * (3 + 5)
    assert state.invitation_url is None
    assert state.read_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_few_named_customers_are_read_by_get_and_absent_ones_are_no_relationship(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.get(f"{API}/v1/customers/c1", json=_customer("c1"))
    mocked.get(f"{API}/v1/customers/c1/subscriptions", json={"items": [_subscription("s1")]})
    mocked.get(
        f"{API}/v1/customers/c2",
        status=403,
        json={"code": 20002, "description": "no commerce relationship"},
    )
    view = reading.read_tenant(SOURCE, make_client(), customers=["C1", "c2"])
    assert view.customers["c1"].status is model.ReadStatus.OK
    assert view.customers["c2"].status is model.ReadStatus.NO_RELATIONSHIP
    assert "relationship" in view.customers["c2"].reason
    assert not any(c.request.url.endswith("/customers?size=100") for c in mocked.calls)


def test_many_named_customers_use_the_list_and_missing_ones_are_no_relationship(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    present = [f"c{i}" for i in range(12)]
    _world(mocked, present, page=5)
    asked = [*present, "gone-1"]
    view = reading.read_tenant(TARGET, make_client(), customers=asked)
    assert view.customers["gone-1"].status is model.ReadStatus.NO_RELATIONSHIP
    assert all(view.customers[c].status is model.ReadStatus.OK for c in present)
    gets = [c for c in mocked.calls if c.request.url.rstrip("/").endswith("/customers/gone-1")]
    assert gets == []


def test_a_customer_whose_reads_keep_failing_is_unknown_not_absent(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.get(f"{API}/v1/customers/c1", json=_customer("c1"))
    mocked.get(f"{API}/v1/customers/c1/subscriptions", status=503)
    view = reading.read_tenant(SOURCE, make_client(), customers=["c1"])
    cv = view.customers["c1"]
    assert cv.status is model.ReadStatus.UNKNOWN
    assert cv.subscriptions == ()
    assert "HTTP 503" in cv.reason and cv.name == "Co c1"


def test_unreadable_customer_is_unknown(mocked: responses.RequestsMock, make_client: Make) -> None:
    mocked.get(f"{API}/v1/customers/c1", status=500)
    view = reading.read_tenant(SOURCE, make_client(), customers=["c1"])
    assert view.customers["c1"].status is model.ReadStatus.UNKNOWN


def test_a_malformed_subscription_makes_the_customer_unknown(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.get(f"{API}/v1/customers/c1", json=_customer("c1"))
    mocked.get(
        f"{API}/v1/customers/c1/subscriptions", json={"items": [{"id": "s1", "quantity": 3}]}
    )
    cv = reading.read_tenant(SOURCE, make_client(), customers=["c1"]).customers["c1"]
    assert cv.status is model.ReadStatus.UNKNOWN and "lacks offerId, status" in cv.reason


def test_failed_list_falls_back_to_gets_for_named_customers(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    names = [f"c{i}" for i in range(11)]
    mocked.get(f"{API}/v1/customers?size=100", status=400, json={"code": 1, "description": "x"})
    for c in names:
        mocked.get(f"{API}/v1/customers/{c}", json=_customer(c))
        mocked.get(f"{API}/v1/customers/{c}/subscriptions", json={"items": []})
    view = reading.read_tenant(SOURCE, make_client(), customers=names)
    assert all(v.status is model.ReadStatus.OK for v in view.customers.values())


def test_failed_list_when_reading_everything_raises(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    mocked.get(f"{API}/v1/customers", status=403, json={"code": 900308, "description": "no"})
    with pytest.raises(errors.ReadError, match="could not be read") as info:
        reading.read_tenant(SOURCE, make_client(), customers=None)
    assert isinstance(info.value, errors.ReconcilerError)


def test_invitation_url_is_read_with_a_delegated_sign_in_and_failure_is_not_fatal(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    _world(mocked, [])
    mocked.get(f"{API}/v1/customers/relationshiprequests", json={"url": "https://inv/1"})
    state = reading.read_live_state(CONS, _clients(make_client, delegated=True), customers=[])
    assert state.invitation_url == "https://inv/1"
    mocked.replace(
        responses.GET,
        f"{API}/v1/customers/relationshiprequests",
        status=403,
        json={"code": 900329, "description": "app only"},
    )
    state = reading.read_live_state(CONS, _clients(make_client, delegated=True), customers=[])
    assert state.invitation_url is None


def test_per_tenant_customer_selection(mocked: responses.RequestsMock, make_client: Make) -> None:
    mocked.get(f"{API}/v1/customers/c1", json=_customer("c1"))
    mocked.get(f"{API}/v1/customers/c1/subscriptions", json={"items": []})
    state = reading.read_live_state(
        CONS, _clients(make_client), customers={"central": ["c1"], "de": []}
    )
    assert list(state.tenants["central"].customers) == ["c1"]
    assert dict(state.tenants["de"].customers) == {}


def test_a_tenant_without_a_client_is_a_config_error(make_client: Make) -> None:
    with pytest.raises(errors.ConfigError, match="de"):
        reading.read_live_state(CONS, {"central": make_client()}, customers=[])


def test_progress_reports_every_customer(mocked: responses.RequestsMock, make_client: Make) -> None:
    _world(mocked, ["a", "b", "c"])
    seen: list[reading.Progress] = []
    reading.read_tenant(SOURCE, make_client(), customers=None, on_progress=seen.append, workers=1)
    assert [(p.done, p.total) for p in seen] == [(1, 3), (2, 3), (3, 3)]


def test_subscriptions_are_classified_and_normalised() -> None:
    nce = wire.to_live_subscription(
        _subscription(
            "A4C1340D-X",
            offer="cfq7ttc0lh18:0001:cfq7ttc0k971",
            termDuration="P1Y",
            cancellationAllowedUntilDate="2024-03-08T09:12:15Z",
            autoRenewEnabled=True,
            refundableQuantity={
                "totalQuantity": 5,
                "details": [
                    {"quantity": 5, "allowedUntilDateTime": "2024-03-08T09:12:15.1234567Z"}
                ],
            },
        )
    )
    assert nce.id == "a4c1340d-x" and nce.offer_id == "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
    assert nce.commerce is model.CommerceModel.NCE_LICENSE
    assert nce.refundable[0].quantity == 5
    assert nce.creation_date == datetime(2024, 3, 1, 9, 12, 15, 96672, tzinfo=UTC)
    azure = wire.to_live_subscription(_subscription("z", offer="MS-AZR-0145P", billingType="usage"))
    assert azure.commerce is model.CommerceModel.LEGACY_AZURE
    plan = wire.to_live_subscription(
        _subscription("p", offer="DZH318Z0BPS6:0001:DZH318Z0BML6", billingType="usage")
    )
    assert plan.commerce is model.CommerceModel.AZURE_PLAN
    legacy = wire.to_live_subscription(_subscription("l", status="Suspended"))
    assert legacy.commerce is model.CommerceModel.LEGACY_LICENSE
    assert legacy.status is model.SubscriptionStatus.SUSPENDED


@pytest.mark.parametrize(
    "value",
    [
        "2016-05-10T00:00:00Z",
        "2021-01-14T16:57:15.0966728Z",
        "2024-03-01T00:00:00.1+00:00",
        "2024-03-01",
    ],
)
def test_dates_parse_leniently_as_utc(value: str) -> None:
    parsed = wire.parse_datetime(value)
    assert parsed is not None and parsed.utcoffset() is not None


def test_sign_in_is_reported_per_tenant_before_any_customer(
    mocked: responses.RequestsMock, make_client: Make
) -> None:
    """The progress display's first phase: tenants signed in of all, then customers read."""
    clients = [make_client(), make_client()]
    seen: list[reading.Progress] = []
    reading._sign_in(clients, seen.append)
    assert [(p.phase, p.done, p.total) for p in seen] == [("sign-in", 1, 2), ("sign-in", 2, 2)]
    assert {p.tenant for p in seen} == {c.name for c in clients}
