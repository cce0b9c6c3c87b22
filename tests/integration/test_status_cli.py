"""`reconciler status`: the per-customer progress table from a fresh, read-only read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        yield running


def test_status_before_anything_and_when_a_customer_cannot_be_read(emu, run_cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RECONCILER_RETRY_BACKOFF_SECONDS", "0.01")
    conn = str(emu.connection_file)
    before = run_cli("status", "--connection", conn)
    assert before.code == 0, before.output
    fabrikam = next(ln for ln in before.out.splitlines() if ln.startswith("Fabrikam GmbH ("))
    assert fabrikam.split()[3:] == ["no", "0/2", "0/2", "0/1"]
    writes = [e for e in emu.control.history() if e.get("origin") == "api"]
    assert writes == []  # read-only
    emu.control.set_fault(
        {"kind": "error", "path": "/v1/customers/3f2c6d55-0000-4000-8000-00000000c001/*"}
    )
    unread = run_cli("status", "--connection", conn, "--customer", "Fabrikam GmbH")
    assert unread.code == 1
    assert "1 customer(s) could not be read" in unread.err
    row = next(ln for ln in unread.out.splitlines() if ln.startswith("Fabrikam GmbH ("))
    assert "?" in row
