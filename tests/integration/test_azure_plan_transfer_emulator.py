"""An Azure plan moved by partner-to-partner transfer, end to end against the emulator over
HTTPS (issue 12 point 1): Northwind's Azure plan (d0a2, in de) moves with its new-commerce
Business Basic (d003) under the default ``moveBy: transfer-first``. central holds no Azure plan
for Northwind, so apply buys one through a cart first, then central requests one transfer
carrying both product types, apply accepts it with de's credentials, and the Azure plan's
target is found through the completed line's order and verified active. Counted from the
emulator's own history, snapshot and ledger; and a run cut between the request and the
acceptance is recovered by the next one without a second request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.applying import journal
from reconciler.emulator.server import Emulator
from reconciler.planning import markers

ROOT = Path(__file__).resolve().parents[2]
NORTHWIND = "3f2c6d55-0000-4000-8000-00000000c002"
PLAN = "5b1e0a40-0000-4000-8000-00000000d0a2"
BASIC = "5b1e0a40-0000-4000-8000-00000000d003"
CENTRAL = "0f6a1b8e-0000-4000-8000-000000000001"
DE = "0f6a1b8e-0000-4000-8000-0000000000de"


@pytest.fixture
def emu(tmp_path: Path, sign_in_user: Any) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        sign_in_user(running)  # `reconciler login central`: agreements need App+User
        yield running


def _apply(run_cli: Any, emu: Emulator, state: Path) -> Any:
    return run_cli(
        "apply",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--customer",
        NORTHWIND,
        "--auto-approve",
        "--state-dir",
        str(state),
    )


def _history(emu: Emulator, action: str) -> list[dict[str, Any]]:
    return [e for e in emu.control.history() if e["action"] == action and e["origin"] == "api"]


def _central_plans(emu: Emulator) -> list[dict[str, Any]]:
    return [
        s
        for s in emu.control.snapshot()["subscriptions"]
        if s["partner"] == "central"
        and s["customerId"] == NORTHWIND
        and str(s["offerId"]).startswith("DZH318Z0BPS6")
    ]


def _assert_moved(emu: Emulator, state: Path) -> dict[str, Any]:
    """One Azure plan bought in central, one request (both product types) created by central
    and accepted by de, completed; the target found by order and journalled; the source
    Azure plan never suspended or cancelled by an API write."""
    [bought] = _central_plans(emu)
    assert markers.parse_marker(str(bought["friendlyName"])) == "azure-plan"
    assert bought["status"] == "active"
    [create] = _history(emu, "transfer.create")
    [accepted] = _history(emu, "transfer.complete")
    assert (create["partnerTenantId"], accepted["partnerTenantId"]) == (CENTRAL, DE)
    [done] = emu.control.snapshot()["transfers"]
    assert done["status"] == "Complete"
    assert done["targetProductTypes"] == ["OnlineServicesNCE", "AzureSubscription"]
    lines = {ln["subscriptionId"]: ln for ln in done["lineItems"]}
    assert set(lines) == {PLAN, BASIC}, "exactly what the plan names"
    assert lines[PLAN]["productType"] == "AzureSubscription"
    touched = [
        e for e in emu.control.history() if e["subscriptionId"] == PLAN and e["origin"] == "api"
    ]
    assert touched == [], "the source Azure plan is moved by the transfer, never written to"
    records = [r for r in journal.read_records(state) if r.get("action") == "accept"]
    found = {
        r["key"]: r["result"]["target_subscription_id"]
        for r in records
        if (r.get("result") or {}).get("target_subscription_id")
    }
    assert found["azure-plan"] == bought["id"]
    return done


def test_an_azure_plan_is_bought_then_moved_by_transfer_and_verified(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    state = tmp_path / "state"
    emu.control.accept_invitation(NORTHWIND, "central")
    applied = _apply(run_cli, emu, state)
    assert applied.code == 0, applied.output
    assert "accepted by de" in applied.out
    done = _assert_moved(emu, state)
    [order] = _history(emu, "order.create")
    assert order["partnerTenantId"] == CENTRAL, "one purchase: the Azure plan, nothing else"
    # Billing moved at the transfer: the source Azure plan is billed no day after it, and no
    # day is billed by both tenants (the emulator's ledger, two days on).
    emu.control.advance_clock(days=2)
    rows = emu.control.ledger(customer_id=NORTHWIND)
    [bought] = _central_plans(emu)
    source = {r["date"] for r in rows if r["subscriptionId"] == PLAN and r["billed"]}
    target = {r["date"] for r in rows if r["subscriptionId"] == bought["id"] and r["billed"]}
    completed = dt.date.fromisoformat(done["completedTime"][:10])
    assert all(dt.date.fromisoformat(d) <= completed for d in source)
    assert len(target) == 3 and not source & target
    # Nothing is left to do.
    final = run_cli(
        "plan",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--customer",
        NORTHWIND,
        "--detailed-exitcode",
    )
    assert final.code == 0, final.output
    again = _apply(run_cli, emu, state)
    assert again.code == 0 and "Nothing to apply now." in again.out
    assert len(_history(emu, "transfer.create")) == 1 and len(_history(emu, "order.create")) == 1


def test_a_run_cut_between_the_request_and_the_acceptance_is_recovered_without_a_second_request(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RECONCILER_RETRY_BACKOFF_SECONDS", "0.01")
    state = tmp_path / "state"
    emu.control.accept_invitation(NORTHWIND, "central")
    # The source's acceptance never gets through: the run stops after the request.
    emu.control.set_fault(
        {"kind": "error", "method": "PATCH", "path": "/v1/customers/*/transfers/*", "status": 503}
    )
    first = _apply(run_cli, emu, state)
    emu.control.set_fault()
    assert first.code != 0, first.output
    assert len(_history(emu, "transfer.create")) == 1 and _history(emu, "transfer.complete") == []
    # A crash right after the request was sent: the journal keeps nothing after it.
    (path,) = (state / "journal").glob("*.jsonl")
    lines = path.read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if '"transfer"' in line and '"started"' in line)
    path.write_text("".join(lines[: cut + 1]))
    second = _apply(run_cli, emu, state)
    assert second.code == 0, second.output
    _assert_moved(emu, state)
    assert len(_history(emu, "order.create")) == 1, "the Azure plan is not bought twice"
