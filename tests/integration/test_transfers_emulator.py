"""Pending partner-to-partner transfers are live state, end to end against the emulator's demo
world (Woodgrove's Business Premium is ``becomes: transferred``): read on the target, waited
for by plan, never requested twice by apply (even from another machine, with another
journal), paired once completed, and requested again once expired."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler import manifests, model
from reconciler.emulator.server import Emulator
from reconciler.partner_center import config, connect, reading

ROOT = Path(__file__).resolve().parents[2]
WOODGROVE = "3f2c6d55-0000-4000-8000-00000000c006"
D004 = "5b1e0a40-0000-4000-8000-00000000d004"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        yield running


def _clients(emu: Emulator) -> tuple[model.Consolidation, dict[str, Any]]:
    cons = manifests.load([ROOT / "manifests"]).consolidation
    conn = config.resolve(cons.tenants, connection_path=emu.connection_file)
    return cons, dict(connect.build_clients(cons.tenants, conn))


def _transfer_creates(emu: Emulator) -> list[dict[str, Any]]:
    return [
        e
        for e in emu.control.history()
        if e["action"] == "transfer.create" and e.get("origin") == "api"
    ]


def _woodgrove_changes(run_cli: Any, conn: str) -> tuple[int, list[dict[str, Any]]]:
    made = run_cli(
        "plan",
        "manifests",
        "--connection",
        conn,
        "--customer",
        WOODGROVE,
        "--format",
        "json",
        "--detailed-exitcode",
    )
    doc = json.loads(made.out)
    return made.code, [c for c in doc["changes"] if c["address"]["customer_id"] == WOODGROVE]


def _apply(run_cli: Any, conn: str, state: Path) -> Any:
    return run_cli(
        "apply",
        "manifests",
        "--connection",
        conn,
        "--customer",
        WOODGROVE,
        "--auto-approve",
        "--state-dir",
        str(state),
    )


def _accept(emu: Emulator, clients: dict[str, Any]) -> None:
    """The source partner accepts Woodgrove's pending request with Business Premium."""
    [pending] = [t for t in emu.control.snapshot()["transfers"] if t["status"] == "InProgress"]
    clients["de"].transport.call(
        "PATCH",
        f"/customers/{WOODGROVE}/transfers/{pending['id']}",
        body={**pending, "status": "Complete", "lineItems": [{"subscriptionId": D004}]},
        request_id=str(uuid.uuid4()),
        customer=WOODGROVE,
    )


def test_apply_twice_from_two_machines_makes_one_request_and_plan_waits_on_the_gate(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    conn = str(emu.connection_file)
    emu.control.accept_invitation(WOODGROVE, "central")
    first = _apply(run_cli, conn, tmp_path / "runner-1")
    assert first.code == 3, first.output  # the acceptance gate remains
    assert len(_transfer_creates(emu)) == 1
    # A second CI runner: its own, empty journal. The live transfer list stops it.
    second = _apply(run_cli, conn, tmp_path / "runner-2")
    assert second.code == 3, second.output
    # The fresh plan inside apply saw the pending request: nothing to send at all.
    assert "Nothing to apply now." in second.out
    assert len(_transfer_creates(emu)) == 1
    code, changes = _woodgrove_changes(run_cli, conn)
    assert code == 3
    assert not [c for c in changes if c["action"] == "transfer"]
    [gate] = [c for c in changes if c["action"] == "accept-transfer"]
    assert gate["address"]["subscription_id"] == D004 and gate["depends_on"] == []
    assert [d["kind"] for d in gate["deadlines"]].count("transfer-expiry") == 1
    assert not [c for c in changes if c["applicable"]]


def test_the_reader_sees_the_request_pending_then_completed_and_plan_pairs_the_result(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    conn = str(emu.connection_file)
    emu.control.accept_invitation(WOODGROVE, "central")
    assert _apply(run_cli, conn, tmp_path / "state").code == 3
    cons, clients = _clients(emu)

    def woodgrove() -> model.CustomerView:
        live = reading.read_live_state(cons, clients, customers=[WOODGROVE], transfers=[WOODGROVE])
        assert live.tenants["de"].customers[WOODGROVE].transfers is None  # never on sources
        return live.tenants["central"].customers[WOODGROVE]

    [pending] = woodgrove().transfers or ()
    assert pending.status is model.TransferStatus.PENDING and pending.lines == ()
    assert pending.source_partner_id == cons.source("de").tenant_id  # type: ignore[union-attr]
    assert pending.expires_at is not None and pending.created_at is not None
    assert (pending.expires_at - pending.created_at).days == 30

    _accept(emu, clients)
    emu.control.advance_clock(minutes=1)
    view = woodgrove()
    [done] = view.transfers or ()
    assert done.status is model.TransferStatus.COMPLETED
    [line] = done.lines
    assert line.source_subscription_id == D004 and line.target_subscription_id
    assert view.subscription(line.target_subscription_id) is not None
    code, changes = _woodgrove_changes(run_cli, conn)
    assert code == 0, changes
    [premium] = [
        c
        for c in changes
        if c["address"]["key"] == "business-premium" and c["address"]["tenant"] == "central"
    ]
    assert premium["action"] == "no-op"
    assert premium["address"]["subscription_id"] == line.target_subscription_id


def test_an_expired_request_is_requested_again_and_the_plan_says_so(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    conn = str(emu.connection_file)
    emu.control.accept_invitation(WOODGROVE, "central")
    assert _apply(run_cli, conn, tmp_path / "state").code == 3
    emu.control.advance_clock(days=31)
    code, changes = _woodgrove_changes(run_cli, conn)
    assert code == 2
    [request] = [c for c in changes if c["action"] == "transfer"]
    assert request["reason"] == "previous-transfer-ended" and "expired" in request["detail"]
    # The same journal remembers the first request, but the live list shows it expired.
    again = _apply(run_cli, conn, tmp_path / "state")
    assert again.code == 3, again.output
    assert len(_transfer_creates(emu)) == 2


def test_a_plan_saved_before_a_request_appeared_is_stale(emu, run_cli, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    conn = str(emu.connection_file)
    emu.control.accept_invitation(WOODGROVE, "central")
    saved = tmp_path / "plan.json"
    made = run_cli(
        "plan", "manifests", "--connection", conn, "--customer", WOODGROVE, "--out", str(saved)
    )
    assert made.code == 0, made.output
    # Someone else (another runner, or the Partner Center UI) requests the transfer.
    _cons, clients = _clients(emu)
    clients["central"].create_transfer(
        WOODGROVE,
        {
            "sourcePartnerTenantId": "0f6a1b8e-0000-4000-8000-0000000000de",
            "sourcePartnerName": "Contoso DE",
            "customerEmailId": "billing@woodgrove.example",
        },
        request_id=str(uuid.uuid4()),
    )
    stale = run_cli(
        "apply",
        str(saved),
        "--connection",
        conn,
        "--auto-approve",
        "--state-dir",
        str(tmp_path / "s"),
    )
    assert stale.code == 1 and "stale" in stale.err and "Woodgrove" in stale.err
    assert len(_transfer_creates(emu)) == 1
