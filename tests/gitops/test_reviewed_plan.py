"""The plan job -> artifact -> apply job flow against the emulator: the apply job applies the
exact plan reviewed on the pull request, and refuses one from another commit, one made from
other manifests, and one whose live state moved since the review."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler import manifests
from reconciler.applying import journal
from reconciler.emulator.server import Emulator
from reconciler.operations import planfiles
from reconciler.partner_center import config, connect

ROOT = Path(__file__).resolve().parents[2]
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"
D001 = "5b1e0a40-0000-4000-8000-00000000d001"
HEAD = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@pytest.fixture
def emu(tmp_path: Path, sign_in_user: Any) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        running.control.accept_invitation(FABRIKAM, "central")
        sign_in_user(running)  # `reconciler login central`: agreements need App+User
        yield running


def _plan_job(run_cli, emu: Emulator, workspace: Path) -> Path:
    """The pull request's job: plan with the head commit recorded, upload plan.json."""
    out = workspace / "plan.json"
    made = run_cli(
        "plan",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--out",
        str(out),
        "--commit",
        HEAD,
        "--format",
        "json",
    )
    assert made.code == 0, made.output
    return out


def _artifact(plan: Path, store: Path) -> Path:
    """upload-artifact then download-artifact: the same bytes under a name keyed to the head."""
    store.mkdir(parents=True)
    kept = store / f"plan-{HEAD}" / "plan.json"
    kept.parent.mkdir()
    shutil.copyfile(plan, kept)
    return kept


def test_the_reviewed_plan_is_the_one_applied(run_cli, emu, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    reviewed = _artifact(_plan_job(run_cli, emu, tmp_path), tmp_path / "artifacts")
    checked = run_cli("check-plan", str(reviewed), "--commit", HEAD)
    assert checked.code == 0, checked.output
    assert f"is the one reviewed for commit {HEAD}" in checked.out
    state = tmp_path / "state"
    applied = run_cli(
        "apply",
        str(reviewed),
        "--connection",
        str(emu.connection_file),
        "--auto-approve",
        "--state-dir",
        str(state),
    )
    assert applied.code in (0, 3), applied.output
    saved = planfiles.read_plan(reviewed)
    assert journal.applied_run(state, journal.plan_id(saved))  # that very plan, not a re-plan
    assert saved.scope["commit"] == HEAD


def test_a_plan_from_another_commit_or_other_manifests_is_refused(
    run_cli, emu, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(ROOT)
    reviewed = _artifact(_plan_job(run_cli, emu, tmp_path), tmp_path / "artifacts")
    other = run_cli("check-plan", str(reviewed), "--commit", "0" * 40)
    assert other.code == 1
    assert f"was made from commit {HEAD}, not from {'0' * 40}" in other.err
    assert "not the plan reviewed" in other.err
    moved = tmp_path / "merged" / "manifests"
    shutil.copytree(ROOT / "manifests", moved)
    woodgrove = moved / "customers" / "woodgrove.yaml"
    woodgrove.write_text(woodgrove.read_text("utf-8").replace("quantity: 5", "quantity: 6", 1))
    edited = run_cli("check-plan", str(reviewed), "--commit", HEAD, "--manifests", str(moved))
    assert edited.code == 1
    assert "are not those the plan" in edited.err and "nothing was applied" in edited.err
    assert len(edited.err.strip().splitlines()) == 1
    unmarked = tmp_path / "unmarked.json"
    made = run_cli(
        "plan",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--out",
        str(unmarked),
        "--format",
        "json",
    )
    assert made.code == 0
    none = run_cli("check-plan", str(unmarked), "--commit", HEAD)
    assert none.code == 1 and "records no commit" in none.err


def test_live_state_that_moved_after_the_review_is_refused_not_replanned(
    run_cli, emu, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(ROOT)
    reviewed = _artifact(_plan_job(run_cli, emu, tmp_path), tmp_path / "artifacts")
    cons = manifests.load([ROOT / "manifests"]).consolidation
    conn = config.resolve(cons.tenants, connection_path=emu.connection_file)
    client = connect.build_clients(cons.tenants, conn)["de"]
    client.update_subscription(FABRIKAM, D001, {"quantity": 30}, request_id=str(uuid.uuid4()))
    writes = len(emu.control.history())
    assert run_cli("check-plan", str(reviewed), "--commit", HEAD).code == 0
    stale = run_cli(
        "apply",
        str(reviewed),
        "--connection",
        str(emu.connection_file),
        "--auto-approve",
        "--state-dir",
        str(tmp_path / "state"),
    )
    assert stale.code == 1
    assert f"Fabrikam GmbH ({FABRIKAM}): subscription …d001 quantity 25 → 30" in stale.err
    assert len(emu.control.history()) == writes
