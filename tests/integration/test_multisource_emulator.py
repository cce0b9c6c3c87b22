"""A customer held in two source tenants (issue 15), end to end against the emulator's demo
world: Alpine Ski House SE has Exchange seats in `de` (15) and `fr` (10), merged into one
target subscription of 25, and a Visio in `fr` alone. What happened is counted from the
emulator's history and billing ledger, not from the tool's report."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plandocs
import pytest

from reconciler.emulator.server import Emulator
from reconciler.planning import markers

ROOT = Path(__file__).resolve().parents[2]
ALPINE = "3f2c6d55-0000-4000-8000-00000000c008"
S = "5b1e0a40-0000-4000-8000-00000000"
DE_EXCHANGE, FR_EXCHANGE, FR_VISIO = S + "d007", S + "f006", S + "f007"


@pytest.fixture
def emu(tmp_path: Path, sign_in_user: Any) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        sign_in_user(running)  # `reconciler login central`: agreements need App+User
        yield running


def _api_writes(emu: Emulator) -> list[dict[str, Any]]:
    return [e for e in emu.control.history() if e.get("origin") != "control"]


def _partner_names(emu: Emulator) -> dict[str, str]:
    return {p["tenantId"]: p["name"] for p in emu.control.snapshot()["partners"]}


def _targets(emu: Emulator) -> dict[str, dict[str, Any]]:
    """Alpine's subscriptions in the target, by the manifest key in their marker."""
    return {
        key: s
        for s in emu.control.snapshot()["subscriptions"]
        if s["customerId"] == ALPINE
        and s["partner"] == "central"
        and (key := markers.parse_marker(s.get("friendlyName")))
    }


def _manifests(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the example manifests with Alpine Ski House's file edited."""
    root = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", root)
    path = root / "customers" / "alpineskihouse.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return root


def test_both_sources_are_handled_and_the_summed_seats_are_active_in_the_target(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    conn, state = str(emu.connection_file), str(tmp_path / "state")
    emu.control.accept_invitation(ALPINE, "central")
    saved = tmp_path / "plan.json"
    made = run_cli("plan", "manifests", "--customer", ALPINE, "--connection", conn,
                   "--out", str(saved), "--detailed-exitcode")  # fmt: skip
    assert made.code == 2, made.output
    assert "Alpine Ski House SE (3f2c6d55-0000-4000-8000-00000000c008, from de and fr)" in made.out
    doc = json.loads(saved.read_text(encoding="utf-8"))
    [entry] = doc["customers"]
    assert (entry["source"], entry["sources"]) == ("de", ["de", "fr"])
    assert set(entry["snapshot"]) == {"de", "fr", "central"}
    planned = {(c["action"], c["tenant"], c["subscription_id"])
               for c in plandocs.changes(doc) if c["action"] == "suspend"}  # fmt: skip
    assert planned == {("suspend", "de", DE_EXCHANGE), ("suspend", "fr", FR_EXCHANGE),
                       ("suspend", "fr", FR_VISIO)}  # fmt: skip

    applied = run_cli("apply", str(saved), "--connection", conn, "--auto-approve",
                      "--state-dir", state)  # fmt: skip
    assert applied.code == 0, applied.output
    assert "0 failed, 0 skipped, 0 unknown" in applied.out

    # The target holds the summed seats, active, once per entry.
    targets = _targets(emu)
    assert {k: (s["quantity"], s["status"]) for k, s in targets.items()} == {
        "exchange": (25, "active"),
        "visio": (2, "active"),
    }
    # Each source subscription was suspended by an API call of its own tenant.
    names = _partner_names(emu)
    suspended = {
        (names[e["partnerTenantId"]], e["subscriptionId"])
        for e in _api_writes(emu)
        if e["changes"].get("status") == ["active", "suspended"]
    }
    assert suspended == {("de", DE_EXCHANGE), ("fr", FR_EXCHANGE), ("fr", FR_VISIO)}
    # The ledger: no day billed by both a source and its replacement, no day without service.
    billed: dict[str, set[str]] = defaultdict(set)
    served: dict[str, set[str]] = defaultdict(set)
    for row in emu.control.ledger(customer_id=ALPINE):
        if row["billed"]:
            billed[row["subscriptionId"]].add(row["date"])
        if row["inService"]:
            served[row["subscriptionId"]].add(row["date"])
    pairs = [(DE_EXCHANGE, "exchange"), (FR_EXCHANGE, "exchange"), (FR_VISIO, "visio")]
    for source, key in pairs:
        target = targets[key]["id"]
        assert billed[target], f"{key} never billed in the target"
        assert not billed[source] & billed[target], f"{source} billed twice"
        assert served[source] | served[target] >= served[source]
    # Verified from a fresh read: every replaced subscription in both tenants is stopped.
    assert "Alpine Ski House SE" in applied.out and " 3/3" in applied.out
    again = run_cli("plan", "manifests", "--customer", ALPINE, "--connection", conn,
                    "--detailed-exitcode")  # fmt: skip
    assert again.code == 0, again.output


def test_a_subscription_missing_from_its_declared_source_is_a_plan_error(
    emu, run_cli, monkeypatch, tmp_path
):
    conn = str(emu.connection_file)
    emu.control.accept_invitation(ALPINE, "central")
    # The fr Exchange declared in de: found in fr, and the error says where to move it.
    wrong = _manifests(
        tmp_path / "a",
        f"{FR_EXCHANGE}\n        source: fr\n",
        f"{FR_EXCHANGE}\n        source: de\n",
    )
    res = run_cli("plan", str(wrong), "--connection", conn, "--customer", ALPINE)
    assert res.code == 1, res.output
    assert f"source subscription {FR_EXCHANGE} of exchange" in res.out
    assert "is not in source tenant de; it is in source tenant fr" in res.out
    # No `source:` at all: only de is read, and the error names the tenant looked in.
    bare = _manifests(tmp_path / "b", "        source: fr\n", "")
    res = run_cli("plan", str(bare), "--connection", conn, "--customer", ALPINE, "--format",
                  "json")  # fmt: skip
    assert res.code == 1
    doc = json.loads(res.out)
    [err] = doc["diagnostics"]
    assert (err["severity"], err["code"]) == ("error", "not-in-source")
    assert "looked in source tenant(s) de" in err["message"] and FR_VISIO in err["message"]
    assert plandocs.changes(doc) == [] and doc["customers"][0]["status"] == "skipped"
    applied = run_cli("apply", str(bare), "--connection", conn, "--customer", ALPINE,
                      "--auto-approve", "--state-dir", str(tmp_path / "s"))  # fmt: skip
    assert applied.code == 1
    assert _api_writes(emu) == []


def test_a_source_that_cannot_be_read_leaves_the_customer_unknown_and_untouched(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RECONCILER_RETRY_BACKOFF_SECONDS", "0.01")
    conn = str(emu.connection_file)
    emu.control.accept_invitation(ALPINE, "central")
    emu.control.accept_invitation("3f2c6d55-0000-4000-8000-00000000c003", "central")
    # fr cannot read Alpine Ski House; de still can, and fr still reads its other customers.
    emu.control.set_fault({"kind": "error", "path": f"/v1/customers/{ALPINE}*", "partner": "fr"})
    res = run_cli("plan", "manifests", "--connection", conn, "--customer", ALPINE,
                  "--customer", "Adatum SARL", "--format", "json")  # fmt: skip
    assert res.code == 1, res.output
    doc = json.loads(res.out)
    [err] = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert err["code"] == "state-unknown" and err["customer_id"] == ALPINE
    assert "in tenant fr is unknown" in err["message"]
    assert not plandocs.changes(doc, ALPINE)
    assert [c["status"] for c in doc["customers"]] == ["planned", "skipped"]
    applied = run_cli("apply", "manifests", "--connection", conn, "--customer", ALPINE,
                      "--customer", "Adatum SARL", "--auto-approve", "--state-dir",
                      str(tmp_path / "s"))  # fmt: skip
    # Adatum is applied; Alpine Ski House is written nowhere, in no tenant.
    assert all(e["customerId"] != ALPINE for e in _api_writes(emu)), applied.output
    assert any(e["customerId"].endswith("c003") for e in _api_writes(emu)), applied.output
    assert {s["status"] for s in emu.control.snapshot()["subscriptions"]
            if s["customerId"] == ALPINE} == {"active"}  # fmt: skip


def test_export_validate_plan_round_trip_for_a_customer_in_two_sources(
    emu, run_cli, monkeypatch, tmp_path
):
    conn = str(emu.connection_file)
    root = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", root)
    (root / "customers" / "alpineskihouse.yaml").unlink()
    monkeypatch.chdir(tmp_path)
    exported = run_cli("export", "manifests", "--connection", conn, "--customer", ALPINE)
    assert exported.code == 0, exported.output
    assert "Alpine Ski House SE (de, fr), 3 subscriptions" in exported.out
    (written,) = (root / "customers").glob("alpine*.yaml")
    text = written.read_text(encoding="utf-8")
    # One file; fr's subscriptions name their tenant, de's (the customer's source) do not.
    assert "  source: de\n" in text
    assert f"- subscription: {FR_EXCHANGE}\n        source: fr\n" in text
    assert f"- subscription: {FR_VISIO}\n        source: fr\n" in text
    assert f"- subscription: {DE_EXCHANGE}\n  - key:" in text
    valid = run_cli("validate", "manifests")
    assert valid.code == 0, valid.output
    emu.control.accept_invitation(ALPINE, "central")
    plan = run_cli("plan", "manifests", "--connection", conn, "--customer", ALPINE,
                   "--format", "json", "--detailed-exitcode")  # fmt: skip
    assert plan.code == 2, plan.output
    doc = json.loads(plan.out)
    assert doc["diagnostics"] == []
    suspends = {(c["tenant"], c["subscription_id"])
                for c in plandocs.changes(doc) if c["action"] == "suspend"}  # fmt: skip
    assert suspends == {("de", DE_EXCHANGE), ("fr", FR_EXCHANGE), ("fr", FR_VISIO)}
    creates = sorted(
        c["after"]["quantity"] for c in plandocs.changes(doc) if c["action"] == "create"
    )
    assert creates == [2, 10, 15]  # export keeps one entry per source subscription
