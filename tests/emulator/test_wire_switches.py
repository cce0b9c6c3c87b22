"""The switches for how today's Partner Center differs from its older documents
(partner-center-api.md §0): a UTF-8 BOM before JSON bodies, the order list's lag, and PATCH
without If-Match. (The stale-ETag status switch is tested with the PATCH rules in
test_subscriptions.py.) Defaults follow today's service."""

from __future__ import annotations

import json
from typing import Any

from conftest import APP_SCOPE, FABRIKAM, Api, World, sub_id

BASIC = "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
BOM = b"\xef\xbb\xbf"


def _order(name: str = "lag probe") -> dict[str, Any]:
    line = {"lineItemNumber": 0, "offerId": BASIC, "quantity": 2, "friendlyName": name}
    return {"billingCycle": "monthly", "lineItems": [{**line, "termDuration": "P1Y"}]}


def _listed(world: World) -> list[str]:
    reply = world.api("central").get(f"/customers/{FABRIKAM}/orders")
    assert reply.status_code == 200
    return [o["id"] for o in reply.json()["items"]]


def test_bodies_have_no_bom_by_default(world: World) -> None:
    reply = world.api("de").get(f"/customers/{FABRIKAM}")
    assert reply.content[:1] == b"{"


def test_the_bom_switch_prefixes_every_api_body_answers_and_errors_alike(world: World) -> None:
    world.emu.control.set_limits(bom_prefix=True)
    api = world.api("de")
    found = api.get(f"/customers/{FABRIKAM}")
    missing = api.get(f"/customers/{FABRIKAM}/subscriptions/{sub_id('zzzz')}")
    for reply in (found, missing):
        assert reply.content.startswith(BOM) and not reply.content[3:].startswith(BOM)
    assert json.loads(found.content.decode("utf-8-sig"))["id"].lower() == FABRIKAM.lower()
    assert json.loads(missing.content.decode("utf-8-sig"))["code"] == 20003
    # A strict reader fails on it, which is the point of the switch.
    assert found.content.decode("utf-8").startswith("\ufeff")


def test_with_the_bom_switch_a_fresh_client_signs_in_and_reads_customers(world: World) -> None:
    """Only Partner Center's bodies carry the BOM: Microsoft Entra ID's sign-in endpoints do
    not, so unmodified MSAL with an empty token cache signs in as usual."""
    world.emu.control.set_limits(bom_prefix=True)
    discovery = world.session.get(
        world.authority("de") + "/v2.0/.well-known/openid-configuration", timeout=10
    )
    assert discovery.status_code == 200 and discovery.content[:1] == b"{"
    signed_in = world.confidential("de").acquire_token_for_client(scopes=APP_SCOPE)
    assert "access_token" in signed_in, signed_in
    api = Api(world.emu.url, world.session, signed_in["access_token"])
    listed = api.get("/customers")
    assert listed.status_code == 200
    assert listed.content.startswith(BOM) and listed.content[3:4] == b"{"
    ids = [c["id"].lower() for c in json.loads(listed.content.decode("utf-8-sig"))["items"]]
    assert FABRIKAM.lower() in ids


def test_the_bom_switch_leaves_empty_bodies_and_the_control_surface_alone(world: World) -> None:
    world.emu.control.set_limits(bom_prefix=True, patch_async=True)
    api = world.api("de")
    path = f"/customers/{FABRIKAM}/subscriptions/{sub_id('d002')}"
    body = json.loads(api.get(path).content[3:])
    body["friendlyName"] = "renamed"
    accepted = api.patch(path, body)
    assert accepted.status_code == 202 and accepted.content == b""
    health = world.session.get(world.conn["controlRoot"] + "/health", timeout=10)
    assert health.content[:1] == b"{"


def test_a_new_order_is_listed_only_after_the_order_list_delay(world: World) -> None:
    world.accept(FABRIKAM)
    api = world.api("central")
    placed = api.post(f"/customers/{FABRIKAM}/orders", _order())
    assert placed.status_code == 201
    order_id = placed.json()["id"]
    assert _listed(world) == []  # default 900 s: "can take up to 15 minutes"
    assert api.get(f"/customers/{FABRIKAM}/orders/{order_id}").status_code == 200
    by_order = api.get(f"/customers/{FABRIKAM}/subscriptions?order_id={order_id}").json()
    assert len(by_order["items"]) == 1  # only the order list lags
    world.control("POST", "/clock/advance", {"seconds": 899})
    assert _listed(world) == []
    world.control("POST", "/clock/advance", {"seconds": 1})
    assert _listed(world) == [order_id]


def test_the_order_list_delay_is_a_setting(world: World) -> None:
    world.emu.control.set_limits(order_list_delay_seconds=0)
    world.accept(FABRIKAM)
    placed = world.api("central").post(f"/customers/{FABRIKAM}/orders", _order())
    assert _listed(world) == [placed.json()["id"]]
    world.emu.control.set_limits(order_list_delay_seconds=60)
    assert _listed(world) == []  # the list follows the current setting


def test_a_patch_without_if_match_is_accepted_like_the_sdk_sends_it(world: World) -> None:
    api = world.api("de")
    path = f"/customers/{FABRIKAM}/subscriptions/{sub_id('d001')}"
    body = api.get(path).json()
    body["friendlyName"] = "no etag sent"
    reply = api.patch(path, body)  # no If-Match header at all
    assert reply.status_code == 200 and reply.json()["friendlyName"] == "no etag sent"
    fresh = api.get(path).json()
    fresh["friendlyName"] = "current etag sent"
    etag = fresh["attributes"]["etag"]
    assert api.patch(path, fresh, If_Match=f'"{etag}"').status_code == 200
