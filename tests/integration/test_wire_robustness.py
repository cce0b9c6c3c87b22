"""The client against the emulator with today's wire quirks switched on: every body (token
service and API) behind a UTF-8 byte-order mark (partner-center-api.md §0, "BOM")."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from pc_world import build, customer_id, make_world, subscription_id

from reconciler.emulator.server import Emulator

Start = Callable[..., Emulator]


def test_sign_in_reads_and_a_patch_work_when_every_body_starts_with_a_bom(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(2), switches={"bomPrefix": True})
    de = build(emu, base_env, tenants=["de"])["de"]
    de.sign_in()  # MSAL reads the token service's BOM-prefixed JSON through our HTTP client
    customers = [c["id"].lower() for c in de.list_customers()]
    assert customer_id(0) in customers
    sid = subscription_id(0, 1)
    before = de.get_subscription(customer_id(0), sid)
    after = de.update_subscription(
        customer_id(0), sid, {"friendlyName": "behind a BOM"}, request_id=str(uuid.uuid4())
    )
    assert after["friendlyName"] == "behind a BOM"
    assert after["quantity"] == before["quantity"] and after["autoRenewEnabled"] is True
    assert [s["id"] for s in de.list_subscriptions(customer_id(0))]
