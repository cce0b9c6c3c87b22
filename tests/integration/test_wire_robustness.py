"""The client against the emulator with today's wire quirks switched on: every Partner Center
API body behind a UTF-8 byte-order mark (partner-center-api.md §0, "BOM"); the sign-in
endpoints (Microsoft Entra ID's) send none."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from pc_world import build, customer_id, make_world, subscription_id

from reconciler.emulator.server import Emulator

Start = Callable[..., Emulator]
ROOT = Path(__file__).resolve().parents[2]
ADATUM = "3f2c6d55-0000-4000-8000-00000000c003"


def test_sign_in_reads_and_a_patch_work_when_every_api_body_starts_with_a_bom(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(2), switches={"bomPrefix": True})
    de = build(emu, base_env, tenants=["de"])["de"]  # no token cached: its first read signs in
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


def test_apply_converges_when_every_api_body_starts_with_a_bom(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch, sign_in_user
) -> None:
    """The plan/apply flow against API bodies that all carry a BOM."""
    monkeypatch.chdir(ROOT)
    with Emulator.start(state_dir=tmp_path / "emu", switches={"bomPrefix": True}) as emu:
        emu.control.accept_invitation(ADATUM, "central")
        sign_in_user(emu)  # `reconciler login central`: agreements need App+User
        common = ["manifests", "--connection", str(emu.connection_file), "--customer", ADATUM]
        applied = run_cli("apply", *common, "--auto-approve", "--state-dir", str(tmp_path / "s"))
        assert applied.code == 0, applied.output
        again = run_cli("plan", *common, "--detailed-exitcode")
        assert again.code == 0, again.output
        central = [s for s in emu.control.snapshot()["subscriptions"] if s["partner"] == "central"]
        assert len(central) == 2 and all(s["status"] == "active" for s in central)
