"""The scheduled follow-up against the emulator and a local fake of GitHub: one issue opened
with what waits on whom, updated as customers accept and the apply runs, closed when the plan
converged."""

from __future__ import annotations

import uuid
from pathlib import Path

from reconciler import manifests
from reconciler.emulator.server import Emulator
from reconciler.operations import demo
from reconciler.partner_center import config, connect

ROOT = Path(__file__).resolve().parents[2]
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"
D001 = "5b1e0a40-0000-4000-8000-00000000d001"


def test_one_issue_opened_updated_and_closed_as_the_consolidation_converges(
    github, run_cli, tmp_path, monkeypatch, sign_in_user
) -> None:
    monkeypatch.chdir(ROOT)
    state = manifests.load([ROOT / "manifests"])
    plan = str(tmp_path / "plan.json")

    def scheduled_run() -> str:
        made = run_cli("plan", "manifests", "--connection", conn, "--out", plan, "--format", "json")
        assert made.code == 0, made.output
        ran = run_cli("followup", plan)
        assert ran.code == 0, ran.output
        return ran.out.strip()

    with Emulator.start(state_dir=tmp_path / "emu") as emu:
        conn = str(emu.connection_file)
        sign_in_user(emu)  # `reconciler login central`: agreements need App+User
        assert scheduled_run() == "Follow-up: opened issue #1."
        issue = github.repo.issues[1]
        assert issue["labels"] == ["reconciler-followup"] and issue["state"] == "open"
        assert f"### Waiting on customers ({len(state.customers)})" in issue["body"]
        assert "**Litware Bank SA** (invite" in issue["body"]

        for customer in state.customers:
            emu.control.accept_invitation(customer.tenant_id, state.consolidation.target.name)
        assert scheduled_run() == "Follow-up: updated issue #1."
        assert "Waiting on customers" not in github.repo.issues[1]["body"]
        assert "### Changes to apply" in github.repo.issues[1]["body"]

        applied = run_cli(
            "apply",
            "manifests",
            "--connection",
            conn,
            "--auto-approve",
            "--state-dir",
            str(tmp_path / "state"),
        )
        assert applied.code == 3, applied.output
        assert scheduled_run() == "Follow-up: updated issue #1."
        body = github.repo.issues[1]["body"]
        assert "### Waiting on Microsoft support" in body
        assert "Waiting on the source partners" not in body  # apply accepted both transfers
        assert "### Changes to apply" not in body

        demo.outside_parties(emu, state)
        assert scheduled_run() == "Follow-up: closed issue #1."
        assert github.repo.issues[1]["state"] == "closed"
        assert "Nothing is left" in github.repo.issues[1]["body"]
        assert scheduled_run() == "Follow-up: nothing left; no issue open."
        assert len(github.repo.issues) == 1  # one issue all along, never a second one

        # Drift: someone turns a suspended legacy subscription back on in the source tenant.
        cons = state.consolidation
        clients = connect.build_clients(
            cons.tenants, config.resolve(cons.tenants, connection_path=emu.connection_file)
        )
        clients["de"].update_subscription(
            FABRIKAM, D001, {"status": "active"}, request_id=str(uuid.uuid4())
        )
        assert scheduled_run() == "Follow-up: opened issue #2."
        drifted = github.repo.issues[2]["body"]
        assert (
            "### Changes to apply (not yet applied, or drifted since the last apply) (1)" in drifted
        )
        assert "**Fabrikam GmbH**: suspend de" in drifted
