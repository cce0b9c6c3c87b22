"""Unknown outcomes against the real emulator: an order whose every answer is lost after it
was committed is found by its marker, never ordered twice; a journalled create cut by a crash
is found again by the next run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.applying import journal
from reconciler.emulator.server import Emulator
from reconciler.planning import markers

ROOT = Path(__file__).resolve().parents[2]
ADATUM = "3f2c6d55-0000-4000-8000-00000000c003"
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"


@pytest.fixture
def emu(tmp_path: Path, sign_in_user: Any) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        sign_in_user(running)  # `reconciler login central`: agreements need App+User
        yield running


def _targets(emu: Emulator, key: str) -> list[dict[str, object]]:
    return [
        s
        for s in emu.control.snapshot()["subscriptions"]
        if s["partner"] == "central" and markers.parse_marker(str(s["friendlyName"])) == key
    ]


def _apply(run_cli, emu: Emulator, state: Path, customer: str):
    return run_cli(
        "apply",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--auto-approve",
        "--customer",
        customer,
        "--state-dir",
        str(state),
    )


def test_an_order_whose_answers_are_all_lost_is_found_by_marker(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RECONCILER_RETRY_BACKOFF_SECONDS", "0.01")
    emu.control.accept_invitation(FABRIKAM, "central")
    # Every checkout is committed, then its answer is dropped: retries with the same
    # MS-RequestId are replayed and dropped too, and the cart cannot be read to tell, so the
    # outcome stays unknown. (Legacy offers are no longer bought through orders: issue 12.)
    emu.control.set_fault(
        {"kind": "drop_after_commit", "method": "POST", "path": "*/checkout"},
        {"kind": "error", "method": "GET", "path": "*/carts/*", "status": 404},
    )
    res = _apply(run_cli, emu, tmp_path / "s", "Fabrikam GmbH")
    assert "visio" in res.out and "found by marker after an unknown outcome" in res.out, res.output
    assert emu.control.faults()[0]["fired"] >= 2
    assert len(_targets(emu, "visio")) == 1
    assert res.code == 3, res.output  # only the Azure hand-off waits
    emu.control.set_fault()
    again = run_cli(
        "plan",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--customer",
        "Fabrikam GmbH",
        "--detailed-exitcode",
    )
    assert again.code == 3 and "+ create" not in again.out, again.output


def test_a_checkout_whose_answers_are_lost_is_resolved_by_the_cart_status(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RECONCILER_RETRY_BACKOFF_SECONDS", "0.01")
    emu.control.accept_invitation(ADATUM, "central")
    emu.control.set_fault({"kind": "drop_after_commit", "method": "POST", "path": "*/checkout"})
    res = _apply(run_cli, emu, tmp_path / "s", "Adatum SARL")
    assert res.code == 0, res.output
    assert emu.control.faults()[0]["fired"] >= 4
    for key in ("business-standard", "exchange"):
        assert len(_targets(emu, key)) == 1


def test_a_create_cut_by_a_crash_is_not_ordered_again(emu, run_cli, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    emu.control.accept_invitation(ADATUM, "central")
    state = tmp_path / "s"
    conn = str(emu.connection_file)
    first = run_cli(
        "apply",
        "manifests",
        "--connection",
        conn,
        "--auto-approve",
        "--customer",
        ADATUM,
        "--state-dir",
        str(state),
    )
    assert first.code == 0, first.output
    # Simulate the crash: the journal of that run loses everything after the first "started".
    (path,) = (state / "journal").glob("*.jsonl")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0])
    assert journal.pending_creates(journal.read_records(state))
    second = run_cli(
        "apply",
        "manifests",
        "--connection",
        conn,
        "--auto-approve",
        "--customer",
        ADATUM,
        "--state-dir",
        str(state),
    )
    assert second.code == 0 and "Nothing to apply now." in second.out
    for key in ("business-standard", "exchange"):
        assert len(_targets(emu, key)) == 1


def test_a_checkout_whose_answers_are_lost_before_it_ran_is_not_resent_in_the_run(
    emu, run_cli, monkeypatch, tmp_path
):
    """Nothing listed after a lost answer proves nothing until the order list's lag has
    passed: the run waits that long, then stops the step as unknown without a second order;
    the next run (after the lag) orders once."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RECONCILER_RETRY_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("RECONCILER_ORDER_LIST_LAG_SECONDS", "2")
    emu.control.accept_invitation(ADATUM, "central")
    # Every checkout answers 503 before anything happens: the outcome stays unknown.
    emu.control.set_fault({"kind": "error", "status": 503, "method": "POST", "path": "*/checkout"})
    state = tmp_path / "s"
    first = _apply(run_cli, emu, state, "Adatum SARL")
    assert first.code == 1, first.output
    assert "not listed within" in first.out and "not sent again" in first.out, first.output
    assert emu.control.snapshot()["orders"] == []
    emu.control.set_fault()
    second = _apply(run_cli, emu, state, "Adatum SARL")
    assert second.code == 0, second.output
    assert len(emu.control.snapshot()["orders"]) == 2
    for key in ("business-standard", "exchange"):
        assert len(_targets(emu, key)) == 1
