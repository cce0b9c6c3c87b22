"""Pending partner-to-partner transfers are live state, end to end against the emulator's demo
world (Woodgrove's Business Premium is ``becomes: transferred``): read on the target, waited
for by plan, never requested twice by apply (even from another machine, with another
journal), paired once completed, and requested again once expired."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plandocs
import pytest

from reconciler import manifests, model
from reconciler.applying.journal import read_records as journal_records
from reconciler.emulator.server import Emulator
from reconciler.partner_center import config, connect, reading

ROOT = Path(__file__).resolve().parents[2]
WOODGROVE = "3f2c6d55-0000-4000-8000-00000000c006"
D004 = "5b1e0a40-0000-4000-8000-00000000d004"


@pytest.fixture
def emu(tmp_path: Path, sign_in_user: Any) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        sign_in_user(running)  # `reconciler login central`: agreements need App+User
        yield running


def _manual(root: Path) -> Path:
    """A copy of the repository's manifests with ``transferAcceptance: manual`` (a person
    accepts in Partner Center: the plan keeps the gate), as ``root/manifests``."""
    shutil.copytree(ROOT / "manifests", root / "manifests")
    cons = root / "manifests" / "consolidation.yaml"
    text = cons.read_text(encoding="utf-8")
    cons.write_text(
        text.replace("policy:\n", "policy:\n  transferAcceptance: manual\n", 1), encoding="utf-8"
    )
    return root


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
    return made.code, plandocs.changes(doc, WOODGROVE)


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
    monkeypatch.chdir(_manual(tmp_path / "repo"))
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
    assert gate["subscription_id"] == D004 and "depends_on" not in gate
    assert [d["kind"] for d in gate["deadlines"]].count("transfer-expiry") == 1
    assert not [c for c in changes if c.get("applicable")]


def test_the_reader_sees_the_request_pending_then_completed_and_plan_pairs_the_result(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(_manual(tmp_path / "repo"))
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
        c for c in changes if c.get("key") == "business-premium" and c["tenant"] == "central"
    ]
    assert premium["action"] == "no-op"
    assert premium["subscription_id"] == line.target_subscription_id


def test_an_expired_request_is_requested_again_and_the_plan_says_so(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(_manual(tmp_path / "repo"))
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


def _history(emu: Emulator, action: str) -> list[dict[str, Any]]:
    return [e for e in emu.control.history() if e["action"] == action and e["origin"] == "api"]


def test_apply_requests_accepts_on_the_source_finds_the_target_by_order_and_verifies_it(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    conn = str(emu.connection_file)
    emu.control.accept_invitation(WOODGROVE, "central")
    applied = _apply(run_cli, conn, tmp_path / "state")
    assert applied.code == 0, applied.output
    assert "accepted by de" in applied.out and "active with 18 seats" in applied.out
    [create] = _history(emu, "transfer.create")
    [accepted] = _history(emu, "transfer.complete")
    assert create["partnerTenantId"] == "0f6a1b8e-0000-4000-8000-000000000001"
    assert accepted["partnerTenantId"] == "0f6a1b8e-0000-4000-8000-0000000000de"
    snap = emu.control.snapshot()
    [done] = snap["transfers"]
    assert done["status"] == "Complete"
    assert [ln["subscriptionId"] for ln in done["lineItems"]] == [D004], "only what the plan names"
    [twin] = [
        s
        for s in snap["subscriptions"]
        if s["partner"] == "central" and s["customerId"] == WOODGROVE and s.get("quantity") == 18
    ]
    records = [r for r in journal_records(tmp_path / "state") if r.get("action") == "accept"]
    found = [r for r in records if (r.get("result") or {}).get("target_subscription_id")]
    assert [r["result"]["target_subscription_id"] for r in found] == [twin["id"]]
    # The next plan pairs the target through the order id: nothing left for Woodgrove.
    code, changes = _woodgrove_changes(run_cli, conn)
    assert code == 0 and not [c for c in changes if c.get("applicable")]
    again = _apply(run_cli, conn, tmp_path / "state")
    assert again.code == 0 and len(_history(emu, "transfer.complete")) == 1


def test_manual_acceptance_stays_a_gate_and_nothing_is_accepted(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(_manual(tmp_path / "repo"))
    conn = str(emu.connection_file)
    emu.control.accept_invitation(WOODGROVE, "central")
    applied = _apply(run_cli, conn, tmp_path / "state")
    assert applied.code == 3, applied.output
    assert len(_history(emu, "transfer.create")) == 1
    assert _history(emu, "transfer.complete") == []
    [pending] = emu.control.snapshot()["transfers"]
    assert pending["status"] == "InProgress" and not pending["lineItems"]


def test_a_lost_answer_to_the_acceptance_is_read_back_and_never_accepted_twice(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    conn = str(emu.connection_file)
    emu.control.accept_invitation(WOODGROVE, "central")
    emu.control.set_fault(
        {
            "kind": "drop_after_commit",
            "method": "PATCH",
            "path": "/v1/customers/*/transfers/*",
            "count": 1,
        }
    )
    applied = _apply(run_cli, conn, tmp_path / "state")
    emu.control.set_fault()
    assert applied.code == 0, applied.output
    assert "active with 18 seats" in applied.out
    assert len(_history(emu, "transfer.complete")) == 1
    [done] = emu.control.snapshot()["transfers"]
    assert done["status"] == "Complete" and len(done["lineItems"]) == 1
