"""`reconciler export` end to end: the real entry point over HTTPS against the emulator's demo
world, its output checked by `reconciler validate` and `reconciler plan`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
PROSEWARE = "3f2c6d55-0000-4000-8000-00000000c007"


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    # Export only reads: one emulator serves every test of this module.
    with Emulator.start(state_dir=tmp_path_factory.mktemp("emu")) as running:
        yield running


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example manifests (schemas beside it), as the working directory."""
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "manifests"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_exports_only_the_customer_the_manifests_lack(emu, run_cli, tree):
    conn = str(emu.connection_file)
    before = snapshot(tree / "customers")
    result = run_cli("export", "--connection", conn)
    assert result.code == 0, result.output
    written = tree / "customers" / "proseware-inc.yaml"
    assert f"wrote {Path('manifests/customers/proseware-inc.yaml')}: Proseware Inc (de)" in (
        result.out
    )
    assert result.out.count("skipped ") == 7
    assert "already declared in manifests/customers/fabrikam.yaml" in result.out
    text = written.read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schemas/customer.schema.json\n")
    assert "offer: office-365-e3" in text and "quantity: 2\n" in text
    assert "subscription: 5b1e0a40-0000-4000-8000-00000000d006" in text
    # The files that were there are untouched, byte for byte.
    after = snapshot(tree / "customers")
    assert {k: v for k, v in after.items() if k != "proseware-inc.yaml"} == before
    valid = run_cli("validate", "manifests")
    assert valid.code == 0, valid.output
    assert "8 customers" in valid.out
    # Now declared: a second export writes nothing and says why.
    again = run_cli("export", "--connection", conn)
    assert again.code == 0, again.output
    assert "Export: 0 customer files written, 8 skipped." in again.out
    assert snapshot(tree / "customers") == after


def test_into_an_empty_copy_every_customer_is_exported_and_plans(emu, run_cli, tree):
    conn = str(emu.connection_file)
    shutil.rmtree(tree / "customers")
    result = run_cli("export", "manifests", "--connection", conn)
    assert result.code == 0, result.output
    assert "Export: 8 customer files written, 0 skipped." in result.out
    files = snapshot(tree / "customers")
    assert len(files) == 8
    valid = run_cli("validate", "manifests")
    assert valid.code == 0, valid.output
    assert "8 customers, 14 target subscriptions replacing 14 source subscriptions, 3 Azure" in (
        valid.out
    )
    plan = run_cli("plan", "manifests", "--connection", conn, "--detailed-exitcode")
    assert plan.code == 3, plan.output
    assert plan.out.count("? invite") == 8 and "error" not in plan.output.lower()
    # Same live state, byte-identical files: --overwrite regenerates them unchanged.
    redo = run_cli("export", "manifests", "--connection", conn, "--overwrite")
    assert redo.code == 0, redo.output
    assert redo.out.count("overwrote ") == 8
    assert snapshot(tree / "customers") == files


def test_overwrite_keeps_a_protected_customer_protected(emu, run_cli, tree):
    litware = tree / "customers" / "litware.yaml"
    assert "protect: true" in litware.read_text()
    result = run_cli(
        "export", "--connection", str(emu.connection_file), "--customer", "Litware Bank SA",
        "--overwrite",
    )  # fmt: skip
    assert result.code == 0, result.output
    text = litware.read_text()
    assert "Exported by `reconciler export`" in text and "  protect: true\n" in text
    assert run_cli("validate", "manifests").code == 0


def test_dry_run_and_selection_write_nothing(emu, run_cli, tree):
    conn = str(emu.connection_file)
    before = snapshot(tree / "customers")
    dry = run_cli("export", "--connection", conn, "--dry-run", "--customer", "proseware inc")
    assert dry.code == 0, dry.output
    assert "==> manifests/customers/proseware-inc.yaml <==" in dry.out
    assert "would write manifests/customers/proseware-inc.yaml" in dry.out
    assert "Export: 1 customer file would be written, 0 skipped." in dry.out
    unknown = run_cli("export", "--connection", conn, "--customer", "Nobody Ltd")
    assert unknown.code == 1 and "--customer nobody ltd: no customer" in unknown.err
    wrong_source = run_cli(
        "export", "--connection", conn, "--source", "fr", "--customer", PROSEWARE
    )
    assert wrong_source.code == 1 and "source tenant(s) fr" in wrong_source.err
    bad = run_cli("export", "--connection", conn, "--source", "xx")
    assert bad.code == 1 and "no source tenant of that name" in bad.err
    assert snapshot(tree / "customers") == before


def test_a_customer_that_cannot_be_read_is_reported_not_written(emu, run_cli, tree):
    shutil.rmtree(tree / "customers")
    emu.control.set_fault(
        {"kind": "error", "status": 400, "method": "GET", "path": f"*/{PROSEWARE}/subscriptions"}
    )
    try:
        result = run_cli("export", "--connection", str(emu.connection_file))
    finally:
        emu.control.set_fault()
    assert result.code == 1, result.output
    assert "Export: 7 customer files written, 1 skipped." in result.out
    assert f"1 customer(s) could not be read and were not written: Proseware Inc ({PROSEWARE})" in (
        result.err
    )
    assert "Traceback" not in result.output
    assert not (tree / "customers" / "proseware-inc.yaml").exists()
    assert len(snapshot(tree / "customers")) == 7
