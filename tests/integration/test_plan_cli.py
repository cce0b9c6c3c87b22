"""`reconciler plan` and `show` end to end: the real entry point, the example manifests, the
live-state reader over HTTPS against the emulator's demo world."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from reconciler.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
# The manifest customers (c007, Proseware, is not in the manifests; c008 is held in two sources).
CUSTOMERS = [f"3f2c6d55-0000-4000-8000-00000000c00{i}" for i in (1, 2, 3, 4, 5, 6, 8)]


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        yield running


def test_plan_waits_on_invitations_then_has_changes_once_accepted(emu, run_cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    conn = str(emu.connection_file)
    first = run_cli("plan", "manifests", "--connection", conn, "--detailed-exitcode")
    assert first.code == 3, first.output
    assert first.out.count("? invite") == 7
    assert "+ create" in first.out and "- suspend" in first.out
    assert "waits for: invite central" in first.out
    for cid in CUSTOMERS:
        emu.control.accept_invitation(cid, "central")
    second = run_cli("plan", "manifests", "--connection", conn, "--detailed-exitcode")
    assert second.code == 2, second.output
    assert "? invite" not in second.out
    assert "Ready for Microsoft support's Azure hand-off" in second.out
    # Suspensions are listed after the create they depend on, customer by customer.
    fabrikam = second.out.split("\nFabrikam GmbH (")[1].split("\n\n")[0]
    assert fabrikam.index("+ create") < fabrikam.index("- suspend")


def test_saved_plan_renders_without_the_network(emu, run_cli, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "plan.json"
    made = run_cli(
        "plan",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--out",
        str(out),
        "--format",
        "json",
    )
    assert made.code == 0, made.output
    emu.stop()  # the network is gone: show must not need it
    doc = json.loads(out.read_text())
    assert doc["format_version"] == 2 and doc["summary"]["outcome"] == "waiting"
    assert json.loads(made.out) == doc
    shown = run_cli("show", str(out), "--format", "markdown", "--detailed-exitcode")
    assert shown.code == 3, shown.output
    assert shown.out.startswith("### reconciler plan: `contoso-emea` → `central`")
    assert "<details><summary><b>Fabrikam GmbH</b>" in shown.out


def test_customer_filter_and_unknown_source_are_reported(emu, run_cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    conn = str(emu.connection_file)
    one = run_cli(
        "plan", "manifests", "--connection", conn, "--customer", CUSTOMERS[0], "--format", "json"
    )
    assert one.code == 0, one.output
    assert [c["name"] for c in json.loads(one.out)["customers"]] == ["Fabrikam GmbH"]
    bad = run_cli("plan", "manifests", "--connection", conn, "--source", "xx")
    assert bad.code == 1 and "no source tenant of that name" in bad.err


def test_show_refuses_missing_and_damaged_files_in_one_paragraph(run_cli, tmp_path):
    missing = run_cli("show", str(tmp_path / "nope.json"))
    assert missing.code == 1 and "Cannot read the plan file" in missing.err
    assert "Traceback" not in missing.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "reconciler-plan", "format_version": 1, "changes": [')
    damaged = run_cli("show", str(broken))
    assert damaged.code == 1 and "not valid JSON" in damaged.err
    other = tmp_path / "other.json"
    other.write_text('{"format": "reconciler-plan", "format_version": 7}')
    old = run_cli("show", str(other))
    assert old.code == 1 and "format version 7" in old.err
    # A plan written before the compact format (version 2): which version, and what to do.
    first = tmp_path / "v1.json"
    first.write_text('{"format": "reconciler-plan", "format_version": 1, "changes": []}')
    refused = run_cli("apply", str(first), "--auto-approve", "--state-dir", str(tmp_path / "s"))
    assert refused.code == 1 and "Traceback" not in refused.output
    assert "plan format version 1, written by an older reconciler" in refused.err
    assert "Run `reconciler plan --out FILE` again" in refused.err


def test_plan_refuses_an_unwritable_out_path_before_rendering(emu, run_cli, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    result = run_cli(
        "plan",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--out",
        str(tmp_path / "no-dir" / "plan.json"),
    )
    assert result.code == 1 and "Cannot write the plan file" in result.err
    assert not (tmp_path / "no-dir").exists()


def test_plan_out_onto_a_directory_is_one_paragraph_and_leaves_no_temporary(
    emu, run_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(ROOT)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    taken = out_dir / "plan.json"
    taken.mkdir()  # the rename over it fails after the temporary file was written
    result = run_cli(
        "plan", "manifests", "--connection", str(emu.connection_file), "--out", str(taken)
    )
    assert result.code == 1
    [line] = [x for x in result.err.splitlines() if x.startswith("Error:")]
    assert f"Cannot write the plan file {taken}" in line and "--out" in line
    assert "Traceback" not in result.output
    assert [p.name for p in out_dir.iterdir()] == ["plan.json"]
    assert list(taken.iterdir()) == []


def test_bad_format_is_a_usage_error(run_cli, tmp_path):
    result = run_cli("show", str(tmp_path / "x.json"), "--format", "yaml")
    assert result.code == 1 and "--format" in result.err


def test_a_cancellation_window_closing_soon_is_a_warning_at_the_top_with_its_cost(
    emu, run_cli, monkeypatch
):
    """Northwind's new-commerce source bought 5 days ago (by the emulator's clock): its 7-day
    window closes in 2 days, which the plan puts first, in text and in Markdown."""
    import yaml

    world = yaml.safe_load((ROOT / "reconciler" / "emulator" / "worlds" / "demo.yaml").read_text())
    northwind = next(c for c in world["customers"] if c["companyName"].startswith("Northwind"))
    basic = next(s for s in northwind["subscriptions"] if s["id"].endswith("d003"))
    basic["created"] = "-5d"
    emu.control.reset(world)
    emu.control.accept_invitation(CUSTOMERS[1], "central")
    monkeypatch.chdir(ROOT)
    conn = str(emu.connection_file)
    text = run_cli("plan", "--connection", conn, "--customer", "Northwind Traders AG")
    assert text.code == 0, text.output
    closes = (emu.control.now() + timedelta(days=2)).date().isoformat()
    warning = next(ln for ln in text.out.splitlines() if "cancellation window" in ln)
    assert f"of 5b1e0a40-0000-4000-8000-00000000d003 closes {closes} (in 2 days)" in warning
    assert "missing it leaves 40 seats billing until" in warning
    # Warnings come before the changes (its transfer: moveBy: transfer-first).
    assert text.out.index("cancellation window") < text.out.index("> transfer")
    assert text.out.startswith("Plan for contoso-emea -> central (1 customer, live state read")
    md = run_cli(
        "plan", "--connection", conn, "--customer", "Northwind Traders AG", "--format", "markdown"
    )
    assert f"closes {closes} (in 2 days)" in md.out
