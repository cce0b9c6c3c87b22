"""The Microsoft Customer Agreement against the emulator (issue 12 point 3): a customer who has
not accepted it gets a `confirm-agreement` gate in the plan and nothing is bought for them;
once the acceptance is confirmed, the next plan buys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        yield running


def _run(run_cli, emu: Emulator, verb: str, *extra: str):
    return run_cli(
        verb,
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--customer",
        "Fabrikam GmbH",
        *extra,
    )


def test_an_unaccepted_agreement_gates_the_purchases_until_it_is_confirmed(
    emu: Emulator, run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    emu.control.accept_invitation(FABRIKAM, "central")
    emu.control.set_customer_agreement(FABRIKAM, False)
    plan = _run(run_cli, emu, "plan")
    assert "confirm-agreement" in plan.out, plan.output
    assert "no confirmed acceptance of the Microsoft Customer Agreement" in plan.out
    applied = _run(run_cli, emu, "apply", "--auto-approve", "--state-dir", str(tmp_path / "s1"))
    assert applied.code != 1, applied.output
    central = [s for s in emu.control.snapshot()["subscriptions"] if s["partner"] == "central"]
    assert central == []  # nothing bought: the purchases waited for the gate
    assert "failed:" not in applied.out and "HTTP 403" not in applied.out, applied.output
    emu.control.set_customer_agreement(FABRIKAM, True)
    again = _run(run_cli, emu, "plan")
    assert "confirm-agreement" not in again.out and "+ create" in again.out, again.output
