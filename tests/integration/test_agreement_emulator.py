"""The Microsoft Customer Agreement against the emulator over HTTPS (issue 12 point 3): a
customer without a confirmed acceptance whose manifest records one (`customerAgreement`) gets
it recorded by apply (App+User) before anything is bought for it, then bought; without the
record the plan waits at a `confirm-agreement` gate (exit code 3) and nothing is bought; and
without a signed-in user the agreement is unknown, said so, and nothing is bought either."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"
RECORD = """
customerAgreement:
  acceptedBy:
    firstName: Anna
    lastName: Weber
    email: anna.weber@fabrikam.example
  dateAgreed: 2026-11-30
"""


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        running.control.accept_invitation(FABRIKAM, "central")
        running.control.set_customer_agreement(FABRIKAM, False)
        yield running


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    copy = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", copy)
    return copy


def _run(run_cli, emu: Emulator, manifests: Path, verb: str, *extra: str):
    return run_cli(
        verb,
        str(manifests),
        "--connection",
        str(emu.connection_file),
        "--customer",
        "Fabrikam GmbH",
        *extra,
    )


def _apply(run_cli, emu: Emulator, manifests: Path, state: Path):
    return run_cli(
        "apply",
        "--manifests",
        str(manifests),
        "--connection",
        str(emu.connection_file),
        "--customer",
        "Fabrikam GmbH",
        "--auto-approve",
        "--state-dir",
        str(state),
    )


def _bought(emu: Emulator) -> list[dict]:
    return [s for s in emu.control.snapshot()["subscriptions"] if s["partner"] == "central"]


def test_the_recorded_acceptance_is_posted_by_apply_before_the_first_purchase(
    emu: Emulator, manifests: Path, run_cli, sign_in_user, tmp_path: Path
) -> None:
    with (manifests / "customers" / "fabrikam.yaml").open("a", encoding="utf-8") as f:
        f.write(RECORD)
    sign_in_user(emu, "central")
    plan = _run(run_cli, emu, manifests, "plan", "--detailed-exitcode")
    assert plan.code == 2, plan.output
    assert "record-agreement" in plan.out and "confirm-agreement" not in plan.out
    assert "Anna Weber on 2026-11-30" in plan.out
    applied = _apply(run_cli, emu, manifests, tmp_path / "s1")
    assert "failed:" not in applied.out and "HTTP 403" not in applied.out, applied.output
    [agreement] = emu.control.customer_agreements(FABRIKAM)
    assert agreement["primaryContact"] == {
        "firstName": "Anna",
        "lastName": "Weber",
        "email": "anna.weber@fabrikam.example",
        "phoneNumber": "",
    }
    assert agreement["dateAgreed"] == "2026-11-30T00:00:00Z" and agreement["userId"]
    assert len(_bought(emu)) == 2  # Office 365 E3's successor and Visio Plan 2
    history = emu.control.history()
    confirmed = [e["seq"] for e in history if e["action"] == "agreement.confirm"]
    purchases = [e["seq"] for e in history if e["action"] == "order.create"]
    assert len(confirmed) == 1 and purchases and confirmed[0] < min(purchases)
    # Recorded once: the next plan reads it as confirmed and plans nothing about it.
    again = _run(run_cli, emu, manifests, "plan")
    assert "record-agreement" not in again.out and "confirm-agreement" not in again.out


def test_without_the_record_the_plan_waits_at_the_gate_and_nothing_is_bought(
    emu: Emulator, manifests: Path, run_cli, sign_in_user, tmp_path: Path
) -> None:
    sign_in_user(emu, "central")
    plan = _run(run_cli, emu, manifests, "plan", "--detailed-exitcode")
    assert plan.code == 3, plan.output
    assert "confirm-agreement" in plan.out and "record-agreement" not in plan.out
    assert "no confirmed acceptance of the Microsoft Customer Agreement" in plan.out
    assert "`customerAgreement`" in plan.out
    applied = _apply(run_cli, emu, manifests, tmp_path / "s1")
    assert applied.code == 3, applied.output
    assert _bought(emu) == [] and emu.control.customer_agreements(FABRIKAM) == []
    assert "failed:" not in applied.out and "HTTP 403" not in applied.out, applied.output
    # Once the acceptance is confirmed (here by the emulator), the next plan buys.
    emu.control.set_customer_agreement(FABRIKAM, True)
    again = _run(run_cli, emu, manifests, "plan")
    assert "confirm-agreement" not in again.out and "+ create" in again.out, again.output


def test_without_a_signed_in_user_the_agreement_is_unknown_and_nothing_is_bought(
    emu: Emulator, manifests: Path, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_TOKEN_CACHE_DIR", str(tmp_path / "no-user"))
    with (manifests / "customers" / "fabrikam.yaml").open("a", encoding="utf-8") as f:
        f.write(RECORD)
    emu.control.set_customer_agreement(FABRIKAM, True)  # accepted, but nobody can read it
    plan = _run(run_cli, emu, manifests, "plan", "--detailed-exitcode")
    assert plan.code == 3, plan.output
    assert "confirm-agreement" in plan.out and "record-agreement" not in plan.out
    assert "no user is signed in to tenant 'central'" in plan.out
    assert "reconciler login central" in plan.out
    applied = _apply(run_cli, emu, manifests, tmp_path / "s1")
    assert applied.code == 3, applied.output
    assert _bought(emu) == []
