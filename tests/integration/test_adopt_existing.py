"""Never buy what the customer already holds, end to end against the emulator: the central
tenant already has Fabrikam's Office 365 E3 on the legacy offer (20 seats) and Adatum's
Exchange Online on a monthly term where the manifests want a yearly one. `export` -> `validate` ->
`plan` proposes no purchase of either; `apply` resizes instead, and its report shows every
customer's true state."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"
ADATUM = "3f2c6d55-0000-4000-8000-00000000c003"
E3_LEGACY = "796B6B5F-613C-4E24-A17C-EBA730D49C02"
HELD_E3 = "7e1d0000-0000-4000-8000-0000000000e3"
HELD_EXO = "7e1d0000-0000-4000-8000-0000000000ee"


def _world() -> dict:
    world = yaml.safe_load((ROOT / "reconciler/emulator/worlds/demo.yaml").read_text())
    for c in world["customers"]:
        c["relationships"] = sorted({*c.get("relationships", []), "central"})
        c["invitations"] = []
        if c["tenantId"] == FABRIKAM:
            c["subscriptions"].append(
                {
                    "id": HELD_E3,
                    "partner": "central",
                    "offerId": E3_LEGACY,
                    "quantity": 20,
                    "billingCycle": "annual",
                    "termDuration": "P1Y",
                    "created": "-30d",
                    "friendlyName": "E3 bought by hand",
                }
            )
        if c["tenantId"] == ADATUM:
            c["subscriptions"].append(
                {
                    "id": HELD_EXO,
                    "partner": "central",
                    "offerId": "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G",
                    "quantity": 60,
                    "billingCycle": "monthly",
                    "termDuration": "P1M",
                    "created": "-20d",
                    "friendlyName": "Exchange bought by hand",
                }
            )
    return world


@pytest.fixture
def emu(tmp_path: Path, sign_in_user: Any) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        running.control.reset(_world())
        sign_in_user(running)  # `reconciler login central`: agreements need App+User
        yield running


def _block(out: str, name: str) -> str:
    return out.split(f"\n{name} (")[1].split("\n\n", maxsplit=1)[0]


def test_export_validate_plan_apply_adopts_what_the_target_already_holds(
    emu, run_cli, monkeypatch, tmp_path
):
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    shutil.rmtree(tmp_path / "manifests" / "customers")
    monkeypatch.chdir(tmp_path)
    conn = str(emu.connection_file)
    exported = run_cli("export", "manifests", "--connection", conn)
    assert exported.code == 0, exported.output
    valid = run_cli("validate", "manifests")
    assert valid.code == 0, valid.output
    # export read the target too: the entries adopt what is already there, explicitly.
    customers = tmp_path / "manifests" / "customers"
    fabrikam_file = next(p for p in customers.iterdir() if "fabrikam" in p.name).read_text()
    assert f"targetSubscription: {HELD_E3}  # already in the target tenant: E3 bought" in (
        fabrikam_file
    )
    adatum_file = next(p for p in customers.iterdir() if "adatum" in p.name).read_text()
    assert f"targetSubscription: {HELD_EXO}" in adatum_file

    plan = run_cli("plan", "manifests", "--connection", conn, "--out", "plan.json")
    assert plan.code == 0, plan.output
    fabrikam, adatum = _block(plan.out, "Fabrikam GmbH"), _block(plan.out, "Adatum SARL")
    assert "E3" not in "".join(ln for ln in fabrikam.splitlines() if "+ create" in ln)
    assert f"adopted existing Office 365 E3 (legacy offer {E3_LEGACY}) {HELD_E3}" in fabrikam
    assert "from 20 to 25 seats" in fabrikam
    assert not any("+ create" in ln and "xchange" in ln for ln in adatum.splitlines())
    assert "adopted-other-term" in run_cli("show", "plan.json", "--format", "json").out

    applied = run_cli(
        "apply", "plan.json", "--connection", conn, "--auto-approve", "--state-dir", "state"
    )
    assert applied.code in (0, 3), applied.output
    subs = {s["id"]: s for s in emu.control.snapshot()["subscriptions"]}
    assert subs[HELD_E3]["quantity"] == 25 and subs[HELD_EXO]["quantity"] == 60
    # Nothing of either product was bought in the target.
    central = [s for s in subs.values() if s["partner"] == "central"]
    bought_e3 = [s for s in central if s["customerId"] == FABRIKAM and "LF8Q" in s["offerId"]]
    bought_exo = [s for s in central if s["customerId"] == ADATUM and s["id"] != HELD_EXO]
    assert bought_e3 == [] and not any("LH16" in s["offerId"] for s in bought_exo)
    # The report counts the adopted targets: no customer reads as having lost service.
    rows = {
        ln.split(" (")[0]: ln
        for ln in applied.out.splitlines()
        if "(3f2c6d55" in ln and not ln.startswith(" ")
    }
    assert " 2/2 " in rows["Fabrikam GmbH"] + " ", rows["Fabrikam GmbH"]
    assert " 2/2 " in rows["Adatum SARL"] + " ", rows["Adatum SARL"]
    # `status` reads the same truth afresh, row for row.
    status = run_cli("status", "manifests", "--connection", conn)
    assert status.code == 0, status.output
    again = {ln.split(" (")[0]: ln for ln in status.out.splitlines() if "(3f2c6d55" in ln}
    assert again == rows
