"""A saved plan whose live state moved is refused naming, per customer, the fields that moved:
the plan keeps the live snapshot it was made from and apply compares it with a fresh read."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import manifests
from reconciler.emulator.server import Emulator
from reconciler.partner_center import config, connect

ROOT = Path(__file__).resolve().parents[2]
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"
D001 = "5b1e0a40-0000-4000-8000-00000000d001"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        yield running


def _change_by_hand(emu: Emulator, tenant: str, customer: str, sid: str, **changes: object) -> None:
    """What the partner's staff would do in Partner Center between plan and apply."""
    cons = manifests.load([ROOT / "manifests"]).consolidation
    conn = config.resolve(cons.tenants, connection_path=emu.connection_file)
    client = connect.build_clients(cons.tenants, conn)[tenant]
    client.update_subscription(customer, sid, changes, request_id=str(uuid.uuid4()))


def test_a_stale_saved_plan_is_refused_naming_the_moved_fields(
    emu: Emulator, run_cli, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    conn, plan = str(emu.connection_file), tmp_path / "plan.json"
    emu.control.accept_invitation(FABRIKAM, "central")
    made = run_cli(
        "plan", "manifests", "--connection", conn, "--out", str(plan), "--format", "json"
    )
    assert made.code == 0, made.output
    saved = json.loads(plan.read_text(encoding="utf-8"))
    fabrikam = next(c for c in saved["customers"] if c["tenant_id"] == FABRIKAM)
    assert fabrikam["snapshot"]["de"]["subscriptions"][D001]["quantity"] == 25

    _change_by_hand(emu, "de", FABRIKAM, D001, quantity=30)
    writes_before = len(emu.control.history())
    stale = run_cli(
        "apply",
        str(plan),
        "--connection",
        conn,
        "--auto-approve",
        "--state-dir",
        str(tmp_path / "state"),
    )
    assert stale.code == 1, stale.output
    assert f"Fabrikam GmbH ({FABRIKAM}): subscription …d001 quantity 25 → 30" in stale.err
    assert "stale" in stale.err and "reconciler plan" in stale.err
    assert "Traceback" not in stale.err
    assert len(emu.control.history()) == writes_before  # nothing was written
