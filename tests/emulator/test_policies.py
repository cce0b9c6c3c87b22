"""Throttling, MS-RequestId replay and fault injection, as a client experiences them."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from conftest import FABRIKAM, NORTHWIND, World, new_id

VISIO = "CFQ7TTC0HD32:0002:CFQ7TTC0J1FV"  # new-commerce Visio Plan 2 (legacy: 2091)


def _order_body() -> dict[str, Any]:
    return {"lineItems": [{"lineItemNumber": 0, "offerId": VISIO, "quantity": 1}]}


def _orders(world: World) -> int:
    """Fabrikam's orders in de's order list once it has caught up: a new order can take 15
    minutes to be listed (today's service; the emulator's default order-list delay)."""
    world.control("POST", "/clock/advance", {"minutes": 15})
    return len(world.api("de").get(f"/customers/{FABRIKAM}/orders").json()["items"])


def test_tenant_rate_limit_gives_429_with_retry_after_and_refills(world: World) -> None:
    world.emu.control.set_limits(rate_limit_per_minute=3)
    api = world.api("de")
    assert [api.get("/customers").status_code for _ in range(3)] == [200, 200, 200]
    throttled = api.get("/customers")
    assert throttled.status_code == 429
    wait = int(throttled.headers["Retry-After"])
    assert 1 <= wait <= 20
    assert throttled.json() == {
        "statusCode": 429,
        "message": f"Rate limit is exceeded. Try again in {wait} seconds.",
    }
    assert world.api("fr").get("/customers").status_code == 200  # other tenants unaffected
    world.control("POST", "/clock/advance", {"seconds": wait})
    assert api.get("/customers").status_code == 200


def test_pair_rate_limit_throttles_one_customer_only(world: World) -> None:
    world.emu.control.set_limits(pair_rate_limit_per_minute=2)
    api = world.api("de")
    for _ in range(2):
        assert api.get(f"/customers/{FABRIKAM}/subscriptions").status_code == 200
    assert api.get(f"/customers/{FABRIKAM}").status_code == 429
    assert api.get(f"/customers/{NORTHWIND}/subscriptions").status_code == 200


def test_a_repeated_write_with_the_same_request_id_is_replayed(world: World) -> None:
    api, rid = world.api("de"), new_id()
    first = api.post(f"/customers/{FABRIKAM}/orders", _order_body(), MS_RequestId=rid)
    again = api.post(f"/customers/{FABRIKAM}/orders", _order_body(), MS_RequestId=rid)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["X-Emulator-Replayed"] == "true"
    assert _orders(world) == 1
    fresh = api.post(f"/customers/{FABRIKAM}/orders", _order_body(), MS_RequestId=new_id())
    assert fresh.json()["id"] != first.json()["id"] and _orders(world) == 2


def test_replays_are_scoped_to_tenant_and_path_and_expire(world: World) -> None:
    world.emu.control.set_limits(idempotency_ttl_seconds=60)
    world.accept(FABRIKAM)
    rid = new_id()
    world.api("de").post(f"/customers/{FABRIKAM}/orders", _order_body(), MS_RequestId=rid)
    other = world.api("central").post(
        f"/customers/{FABRIKAM}/orders", _order_body(), MS_RequestId=rid
    )
    assert other.status_code == 201 and "X-Emulator-Replayed" not in other.headers
    world.control("POST", "/clock/advance", {"seconds": 61})
    late = world.api("de").post(f"/customers/{FABRIKAM}/orders", _order_body(), MS_RequestId=rid)
    assert "X-Emulator-Replayed" not in late.headers and _orders(world) == 2


def test_business_errors_are_replayed_too(world: World) -> None:
    api, rid = world.api("de"), new_id()
    bad = {"lineItems": [{"lineItemNumber": 0, "offerId": "NOPE", "quantity": 1}]}
    first = api.post(f"/customers/{FABRIKAM}/orders", bad, MS_RequestId=rid)
    again = api.post(f"/customers/{FABRIKAM}/orders", _order_body(), MS_RequestId=rid)
    assert first.status_code == again.status_code == 400 and _orders(world) == 0


def test_commit_then_drop_writes_but_the_client_sees_a_dropped_connection(world: World) -> None:
    world.emu.control.set_fault(
        {
            "kind": "drop_after_commit",
            "method": "POST",
            "path": "/v1/customers/*/orders",
            "count": 1,
        }
    )
    api, rid = world.api("de"), new_id()
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post(f"/customers/{FABRIKAM}/orders", _order_body(), MS_RequestId=rid)
    assert _orders(world) == 1
    retry = api.post(f"/customers/{FABRIKAM}/orders", _order_body(), MS_RequestId=rid)
    assert retry.status_code == 201 and retry.headers["X-Emulator-Replayed"] == "true"
    assert _orders(world) == 1


def test_commit_then_504(world: World) -> None:
    world.control(
        "PUT",
        "/faults",
        {
            "rules": [
                {
                    "kind": "timeout_after_commit",
                    "method": "PATCH",
                    "path": "/v1/customers/*/subscriptions/*",
                    "count": 1,
                }
            ]
        },
    )
    api = world.api("de")
    path = f"/customers/{FABRIKAM}/subscriptions/5b1e0a40-0000-4000-8000-00000000d002"
    body = api.get(path).json()
    body["friendlyName"] = "after timeout"
    assert api.patch(path, body).status_code == 504
    assert api.get(path).json()["friendlyName"] == "after timeout"


@pytest.mark.parametrize("kind", ["error", "throttle", "reset"])
def test_injected_failures_happen_before_any_write(world: World, kind: str) -> None:
    world.emu.control.set_fault(
        {
            "kind": kind,
            "method": "POST",
            "path": "/v1/customers/*/orders",
            "count": 2,
            "status": 503,
            "retryAfter": 9,
        }
    )
    api = world.api("de")
    for _ in range(2):
        if kind == "reset":
            with pytest.raises(requests.exceptions.ConnectionError):
                api.post(f"/customers/{FABRIKAM}/orders", _order_body())
            continue
        reply = api.post(f"/customers/{FABRIKAM}/orders", _order_body())
        if kind == "error":
            assert reply.status_code == 503 and reply.json()["source"] == "PartnerFD"
        else:
            assert reply.status_code == 429 and reply.headers["Retry-After"] == "9"
            assert reply.json()["statusCode"] == 429
    assert _orders(world) == 0
    assert api.post(f"/customers/{FABRIKAM}/orders", _order_body()).status_code == 201
    assert world.control("GET", "/faults")["rules"][0]["fired"] == 2


def test_faults_only_hit_matching_routes_and_can_skip_the_first_calls(world: World) -> None:
    world.emu.control.set_fault(
        {
            "kind": "error",
            "method": "GET",
            "path": "/v1/customers",
            "after": 1,
            "count": 1,
            "status": 500,
        }
    )
    api = world.api("de")
    statuses = [api.get("/customers").status_code for _ in range(3)]
    assert statuses == [200, 500, 200]
    assert api.get(f"/customers/{FABRIKAM}").status_code == 200


def test_a_fault_limited_to_one_partner_leaves_the_others_answering(world: World) -> None:
    world.emu.control.set_fault({"kind": "error", "path": "/v1/customers", "partner": "fr"})
    assert world.api("fr").get("/customers").status_code == 503
    assert world.api("de").get("/customers").status_code == 200
    tenant_id = world.tenant("de")["tenantId"]
    world.emu.control.set_fault({"kind": "error", "path": "/v1/customers", "partner": tenant_id})
    assert world.api("de").get("/customers").status_code == 503
    assert world.api("fr").get("/customers").status_code == 200


def test_probabilistic_faults_repeat_with_the_same_seed(world: World) -> None:
    def run() -> list[int]:
        world.emu.control.set_fault(
            {"kind": "error", "path": "/v1/customers", "probability": 0.5}, seed=42
        )
        return [world.api("de").get("/customers").status_code for _ in range(16)]

    first = run()
    assert 200 in first and 503 in first
    assert run() == first


def test_latency_faults_still_answer(world: World) -> None:
    world.emu.control.set_fault({"kind": "latency", "path": "/v1/customers", "latencyMs": 5})
    assert world.api("de").get("/customers").status_code == 200
    assert world.emu.control.faults()[0]["fired"] == 1


def test_bad_fault_rules_are_refused(world: World) -> None:
    reply = world.session.put(
        f"{world.conn['controlRoot']}/faults", json={"rules": [{"kind": "explode"}]}
    )
    assert reply.status_code == 400 and "unknown fault kind" in reply.json()["error"]


def test_an_emulator_bug_is_a_500_not_a_hang_up(world: World, monkeypatch: Any) -> None:
    import re

    from reconciler.emulator import pipeline

    def broken(engine: object, req: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "ROUTES", [("GET", re.compile("^/customers$"), broken)])
    reply = world.api("de").get("/customers")
    assert reply.status_code == 500 and reply.json()["source"] == "PartnerFD"


def test_an_injected_error_carries_the_partner_center_code_it_names(world: World) -> None:
    """A stale ETag (400 2055) can be injected on a PATCH that sends no If-Match; nothing is
    changed by it."""
    world.emu.control.set_fault(
        {
            "kind": "error",
            "method": "PATCH",
            "path": "/v1/customers/*/subscriptions/*",
            "status": 400,
            "code": 2055,
            "count": 1,
        }
    )
    api = world.api("de")
    path = f"/customers/{FABRIKAM}/subscriptions/5b1e0a40-0000-4000-8000-00000000d001"
    body = {**api.get(path).json(), "friendlyName": "renamed"}
    refused = api.patch(path, body)
    assert refused.status_code == 400 and refused.json()["code"] == 2055
    assert api.get(path).json()["friendlyName"] != "renamed"
    assert api.patch(path, body).status_code == 200
