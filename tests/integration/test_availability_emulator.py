"""A purchase after Microsoft reissued the availability ids (issue 12 point 3): `apply` reads
the customer's current availability for the product and SKU and puts that id on the cart line,
so the manifest's (now stale) availability part never reaches a cart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from reconciler.planning import markers

ROOT = Path(__file__).resolve().parents[2]
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"
#: The availability parts the example manifests name for Office 365 E3 and Visio Plan 2.
MANIFEST_IDS = {
    "office-e3": "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R",
    "visio": "CFQ7TTC0HD32:0002:CFQ7TTC0J1FV",
}


@pytest.fixture
def emu(tmp_path: Path, sign_in_user: Any) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        sign_in_user(running)  # `reconciler login central`: agreements need App+User
        yield running


def test_a_cart_bought_after_a_rotation_uses_the_fresh_availability(
    emu: Emulator, run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    assert emu.control.settings()["availabilityRotationDays"] > 0  # today's service by default
    emu.control.accept_invitation(FABRIKAM, "central")
    emu.control.advance_clock(days=31)  # every new-commerce availability id is reissued
    res = run_cli(
        "apply",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--auto-approve",
        "--customer",
        "Fabrikam GmbH",
        "--state-dir",
        str(tmp_path / "state"),
    )
    assert res.code == 3, res.output  # only the Azure hand-off waits
    bought = {
        markers.parse_marker(str(s["friendlyName"])): str(s["offerId"])
        for s in emu.control.snapshot()["subscriptions"]
        if s["partner"] == "central"
    }
    for key, manifest_id in MANIFEST_IDS.items():
        product_sku = manifest_id.rsplit(":", 1)[0]
        assert bought[key].startswith(product_sku + ":"), bought
        assert bought[key] != manifest_id, bought  # the reissued id, not the manifest's
    # Nothing was refused on the way: no cart line error, no second purchase.
    assert "10001" not in res.out and len(bought) == 2
