"""The Quickstart's first command: `reconciler demo` runs the whole consolidation."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class _ReadOnlyEnviron(dict[str, str]):
    """The process environment, refusing every write of reconciler's variables: the demo hands
    its commands a changed copy instead of setting them for everyone in the process."""

    def __setitem__(self, key: str, value: str) -> None:
        if key.startswith("RECONCILER_"):  # libraries (pytest, typer) keep their own notes
            raise AssertionError(f"the demo set {key} in the process environment")
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if key.startswith("RECONCILER_"):
            raise AssertionError(f"the demo removed {key} from the process environment")
        super().__delitem__(key)


def test_demo_runs_plan_and_apply_to_convergence(run_cli, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("RECONCILER_TOKEN_CACHE_DIR", raising=False)
    monkeypatch.setattr(os, "environ", _ReadOnlyEnviron(os.environ))
    result = run_cli("demo", "--state-dir", str(tmp_path / "demo"))
    assert result.code == 0, result.output
    codes = re.findall(r"\(exit code (\d+): (as expected|UNEXPECTED)", result.out)
    # validate, plan (waiting on customers), plan (changes), apply (gates remain), final plan
    assert codes == [
        ("0", "as expected"),
        ("3", "as expected"),
        ("2", "as expected"),
        ("3", "as expected"),
        ("0", "as expected"),
    ]
    out = result.out
    assert "invitation URL: https://admin.microsoft.com/" in out
    assert "Steps: 26 succeeded, 0 failed, 0 skipped, 0 unknown." in out
    # Short: summary lines on the terminal, each command's whole output in a file.
    assert len(out.splitlines()) < 80
    assert "Plan for contoso-emea" not in out
    assert "Plan for contoso-emea" in (tmp_path / "demo" / "output" / "5-plan.txt").read_text()
    # Today's story, told from the emulator's records.
    assert (
        "2 partner-to-partner transfer request(s) moving 3 subscription(s): requested by the "
        in out
    )
    assert (
        "Northwind Traders AG: Microsoft 365 Business Basic, 40 seats, de -> central: Complete, "
        "accepted by de, active with 40 seats" in out
    )
    assert "11 new-commerce subscription(s) bought (11 through a cart)" in out
    assert (
        "Fabrikam GmbH: Visio Plan 2, 3 seats (CFQ7TTC0HD32:0002:CFQ7TTC0J1FV); legacy Visio "
        "Online Plan 2 in de suspended the same day" in out
    )
    assert "legacy Office 365 E3 in fr held by a protect flag" in out
    assert "Microsoft support moved 2 Azure subscription(s)" in out
    assert "NOT as expected" not in out
    assert (
        "Ledger check over 11 moved subscription(s): 0 day(s) billed by both tenants, "
        "0 day(s) without service." in out
    )
    assert (tmp_path / "demo" / "plan.json").is_file()
    assert (tmp_path / "demo" / "tokens" / "central.json").is_file()
    assert "RECONCILER_TOKEN_CACHE_DIR" not in os.environ  # restored for the next command
