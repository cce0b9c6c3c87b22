"""Reading live state from the emulator: complete with small pages, robust to injected faults,
and honest about customers it could not read."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import pytest
from pc_world import (
    build,
    consolidation,
    customer_id,
    fast_policy,
    make_world,
    subscription_id,
)

from reconciler import model
from reconciler.emulator.server import Emulator
from reconciler.partner_center import reading

Start = Callable[..., Emulator]
N = 20
SUBS = 3


def _expected(n: int) -> dict[str, dict[str, set[str]]]:
    """tenant -> customer -> subscription ids, as make_world builds them."""
    out: dict[str, dict[str, set[str]]] = {"central": {}, "de": {}, "fr": {}}
    for i in range(n):
        source = "de" if i % 2 == 0 else "fr"
        out[source][customer_id(i)] = {subscription_id(i, j) for j in range(SUBS)}
        if i % 3 == 0:
            out["central"][customer_id(i)] = set()
    return out


def _observed(state: model.LiveState) -> dict[str, dict[str, set[str]]]:
    out: dict[str, dict[str, set[str]]] = {}
    for name, view in state.tenants.items():
        out[name] = {}
        for cid, cv in view.customers.items():
            assert cv.status is model.ReadStatus.OK, (name, cid, cv.reason)
            ids = [s.id for s in cv.subscriptions]
            assert len(ids) == len(set(ids)), f"duplicate subscription in {cid}"
            out[name][cid] = set(ids)
    return out


def test_a_world_read_with_page_size_3_returns_everything_exactly_once(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(N, subs_per_customer=SUBS), page_size=3)
    clients = build(emu, base_env)
    state = reading.read_live_state(consolidation(), clients, customers=None)
    assert _observed(state) == _expected(N)
    sub = state.tenants["de"].customers[customer_id(0)].subscription(subscription_id(0, 1))
    assert sub is not None and sub.commerce is model.CommerceModel.NCE_LICENSE
    azure = state.tenants["de"].customers[customer_id(0)].subscription(subscription_id(0, 2))
    assert azure is not None and azure.commerce is model.CommerceModel.LEGACY_AZURE
    # Minimal requests: ceil(10/3) customer pages + 10 subscription lists for de.
    assert clients["de"].stats.requests == 4 + 10


def test_named_customers_in_the_target_not_yet_accepted_are_no_relationship(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(6, subs_per_customer=1))
    clients = build(emu, base_env)
    asked = [customer_id(i) for i in range(6)]
    state = reading.read_live_state(
        consolidation(), clients, customers={"central": asked, "de": asked[:2]}
    )
    central = state.tenants["central"].customers
    assert {c for c, v in central.items() if v.status is model.ReadStatus.OK} == {
        customer_id(0),
        customer_id(3),
    }
    assert central[customer_id(1)].status is model.ReadStatus.NO_RELATIONSHIP
    de = state.tenants["de"].customers
    assert de[customer_id(0)].status is model.ReadStatus.OK
    assert de[customer_id(1)].status is model.ReadStatus.NO_RELATIONSHIP
    assert dict(state.tenants["fr"].customers) == {}


def test_injected_server_errors_and_resets_are_absorbed(
    start_emulator: Start, base_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="reconciler.partner_center")
    emu = start_emulator(make_world(N, subs_per_customer=SUBS), page_size=3, fault_seed=7)
    emu.control.set_fault(
        # Bounded counts keep a run of 5 failures of one request (the read attempts)
        # practically impossible while still hitting many requests.
        {"kind": "error", "status": 503, "path": "/v1/customers*", "probability": 0.2, "count": 10},
        {"kind": "reset", "path": "/v1/customers/*/subscriptions", "probability": 0.2, "count": 6},
        {"kind": "error", "status": 500, "path": "/v1/customers", "count": 2},
    )
    # More attempts than the default 5: the claim is that faults are absorbed, and a rare
    # unlucky run of 5 faults on one request under a loaded CI machine must not flake.
    policy = dataclasses.replace(fast_policy(), read_attempts=10)
    clients = build(emu, base_env, policy=policy)
    state = reading.read_live_state(consolidation(), clients, customers=None)
    assert _observed(state) == _expected(N)
    retries = sum(c.stats.retries for c in clients.values())
    fired = sum(rule["fired"] for rule in emu.control.faults())
    assert fired > 0 and retries >= fired


def test_a_customer_whose_reads_keep_failing_is_unknown_not_absent(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(8, subs_per_customer=2))
    broken = customer_id(2)
    emu.control.set_fault(
        {"kind": "error", "status": 500, "path": f"/v1/customers/{broken}/subscriptions"}
    )
    clients = build(emu, base_env)
    state = reading.read_live_state(consolidation(), clients, customers=None)
    view = state.tenants["de"].customers[broken]
    assert view.status is model.ReadStatus.UNKNOWN
    assert "HTTP 500" in view.reason and view.subscriptions == ()
    assert view.name == "Customer 2"
    others = [v for c, v in state.tenants["de"].customers.items() if c != broken]
    assert others and all(v.status is model.ReadStatus.OK for v in others)
