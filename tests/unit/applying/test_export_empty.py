"""`journal export` on a directory without journals says where it looked."""

from __future__ import annotations

import os
from pathlib import Path


def test_export_without_journals_warns_with_the_path(run_cli, tmp_path: Path) -> None:
    result = run_cli("journal", "export", "--state-dir", str(tmp_path))
    assert result.code == 0
    assert result.out.startswith("ts,run_id,plan_id,customer_id")
    assert f"No apply journal in {tmp_path / 'journal'}" in result.err


def test_an_unwritable_out_is_one_paragraph_and_leaves_no_temporary(
    run_cli, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    taken = tmp_path / "out.csv"
    taken.mkdir()  # a directory where the file should go: the rename cannot succeed
    result = run_cli("journal", "export", "--state-dir", str(state), "--out", str(taken))
    assert result.code == 1
    [line] = [x for x in result.err.splitlines() if x.startswith("Error:")]
    assert f"Cannot write the journal export {taken}" in line
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert sorted(os.listdir(tmp_path)) == ["out.csv", "state"]
    assert os.listdir(taken) == []


def test_the_state_dir_comes_from_the_environment_given_to_main(
    capsys, tmp_path: Path, monkeypatch
) -> None:
    from reconciler.cli import main as cli_main

    monkeypatch.delenv("RECONCILER_STATE_DIR", raising=False)
    code = cli_main.main(["journal", "export"], {"RECONCILER_STATE_DIR": str(tmp_path)})
    assert code == 0
    assert f"No apply journal in {tmp_path / 'journal'}" in capsys.readouterr().err
