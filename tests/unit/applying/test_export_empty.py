"""`journal export` on a directory without journals says where it looked."""

from __future__ import annotations

from pathlib import Path


def test_export_without_journals_warns_with_the_path(run_cli, tmp_path: Path) -> None:
    result = run_cli("journal", "export", "--state-dir", str(tmp_path))
    assert result.code == 0
    assert result.out.startswith("ts,run_id,plan_id,customer_id")
    assert f"No apply journal in {tmp_path / 'journal'}" in result.err
