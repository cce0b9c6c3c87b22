"""A saved plan is a promise, not an instruction: a plan file edited after review is refused
with the change named, and Partner Center receives no write (the emulator's own history)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import plandocs
import pytest

from reconciler.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"
D001 = "5b1e0a40-0000-4000-8000-00000000d001"


@pytest.fixture
def emu(tmp_path: Path, sign_in_user: Any) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        running.control.accept_invitation(FABRIKAM, "central")
        sign_in_user(running)  # `reconciler login central`: agreements need App+User
        yield running


def _suspend_d001(doc: dict[str, Any]) -> dict[str, Any]:
    return next(
        c
        for c in plandocs.changes(doc)
        if c["action"] == "suspend" and c.get("subscription_id") == D001
    )


def _create_e3(doc: dict[str, Any]) -> dict[str, Any]:
    return next(
        c for c in plandocs.changes(doc) if c["action"] == "create" and c.get("key") == "office-e3"
    )


def cut_source(doc: dict[str, Any]) -> str:
    """The source cut from 25 seats to 1 before its replacement exists."""
    c = _suspend_d001(doc)
    c.update(action="resize", after={"quantity": 1}, depends_on=[], blocked_by=[])
    return f"resize de/{FABRIKAM}/{D001}: a plan made now has no such change"


def reactivate_source(doc: dict[str, Any]) -> str:
    c = _suspend_d001(doc)
    c.update(action="reactivate", after={"status": "active"}, depends_on=[], blocked_by=[])
    return f"reactivate de/{FABRIKAM}/{D001}: a plan made now has no such change"


def order_300(doc: dict[str, Any]) -> str:
    _create_e3(doc)["after"]["quantity"] = 300
    return "quantity 300 where a plan made now says 25"


def other_offer(doc: dict[str, Any]) -> str:
    _create_e3(doc)["after"]["offer_id"] = "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
    return "offer_id 'CFQ7TTC0LH18:0001:CFQ7TTC0K971' where a plan made now says"


def unblock_suspension(doc: dict[str, Any]) -> str:
    """The suspension made independent of the create it waits for."""
    c = _suspend_d001(doc)
    c.update(depends_on=[], blocked_by=[])
    return "its dependencies differ from a plan made now"


FORGERIES: list[Callable[[dict[str, Any]], str]] = [
    cut_source,
    reactivate_source,
    order_300,
    other_offer,
    unblock_suspension,
]


@pytest.mark.parametrize("forge", FORGERIES, ids=[f.__name__ for f in FORGERIES])
def test_an_edited_plan_is_refused_and_nothing_is_written(
    emu, run_cli, monkeypatch, tmp_path, forge
) -> None:
    monkeypatch.chdir(ROOT)
    conn = str(emu.connection_file)
    out = tmp_path / "plan.json"
    planned = run_cli(
        "plan", "--connection", conn, "--customer", "Fabrikam GmbH", "--out", str(out)
    )
    assert planned.code == 0, planned.output
    doc = json.loads(out.read_text())
    expected = forge(doc)
    out.write_text(json.dumps(doc))
    before = len(emu.control.history())
    result = run_cli(
        "apply", str(out), "--connection", conn, "--auto-approve", "--state-dir",
        str(tmp_path / "state"),
    )  # fmt: skip
    assert result.code == 1, result.output
    assert "The saved plan asks for writes that the manifests and live state do not support" in (
        result.err
    )
    assert expected in result.err
    assert "Nothing was changed" in result.err
    writes = [e for e in emu.control.history()[before:] if e.get("origin") == "api"]
    assert writes == []


def test_the_unedited_plan_still_applies(emu, run_cli, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(ROOT)
    conn = str(emu.connection_file)
    out = tmp_path / "plan.json"
    assert (
        run_cli("plan", "--connection", conn, "--customer", "Fabrikam GmbH", "--out", str(out)).code
        == 0
    )
    result = run_cli(
        "apply", str(out), "--connection", conn, "--auto-approve", "--state-dir",
        str(tmp_path / "state"),
    )  # fmt: skip
    assert result.code in (0, 3), result.output
    assert any(e.get("origin") == "api" for e in emu.control.history())
