"""`reconciler emulator accept-invitation | azure-handoff | advance-clock` against a running
emulator: the by-hand walkthrough of docs/emulator.md."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator.server import Emulator

FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"


def test_accept_handoff_and_clock_through_the_cli(run_cli, tmp_path: Path) -> None:
    with Emulator.start(state_dir=tmp_path / "emu", frozen_clock=True) as emu:
        conn = str(emu.connection_file)
        accepted = run_cli("emulator", "accept-invitation", "Fabrikam GmbH", "--connection", conn)
        assert accepted.code == 0, accepted.output
        assert accepted.out.strip() == "Fabrikam GmbH accepted central's invitation."
        again = run_cli("emulator", "accept-invitation", FABRIKAM, "--connection", conn)
        assert "had already accepted" in again.out
        moved = run_cli("emulator", "azure-handoff", "--connection", conn)
        assert moved.code == 0, moved.output
        # Only Fabrikam accepted, and it has one Azure subscription in de.
        assert (
            moved.out.strip() == "Fabrikam GmbH: moved 1 Azure subscription(s) from de to central."
        )
        snap = emu.control.snapshot()
        azure = [
            s
            for s in snap["subscriptions"]
            if s["customerId"] == FABRIKAM and s["offerId"].startswith("MS-AZR")
        ]
        assert {(s["partner"], s["status"]) for s in azure} == {
            ("de", "suspended"),
            ("central", "active"),
        }
        before = emu.control.now()
        clock = run_cli("emulator", "advance-clock", "--days", "2", "--connection", conn)
        assert clock.code == 0, clock.output
        assert (emu.control.now() - before).days == 2


def test_unknown_customer_and_missing_connection_are_clear_errors(run_cli, tmp_path: Path) -> None:
    missing = run_cli("emulator", "accept-invitation", "--connection", str(tmp_path / "nope.json"))
    assert missing.code == 1
    assert "reconciler emulator serve" in missing.err
    with Emulator.start(state_dir=tmp_path / "emu") as emu:
        unknown = run_cli(
            "emulator", "accept-invitation", "Nobody Ltd", "--connection", str(emu.connection_file)
        )
        assert unknown.code == 1
        assert "Nobody Ltd" in unknown.err
