"""Customer selection never silently narrows: every --customer / --exclude-customer value must
name a manifest customer, or nothing is read or planned."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import errors, manifests
from reconciler.planning import planner

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_one_unknown_customer_among_several_is_an_error_naming_it(
    run_cli, monkeypatch, command
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("RECONCILER_CONNECTION_FILE", raising=False)
    result = run_cli(command, "--customer", "Fabrikam GmbH", "--customer", "Fabrikm GmbH")
    assert result.code == 1
    assert "--customer Fabrikm GmbH: no manifest customer has that tenant id or name" in (
        result.out + result.err
    )
    assert "Traceback" not in result.out + result.err


def test_unknown_exclusions_are_named_too() -> None:
    state = manifests.load([ROOT / "manifests"])
    with pytest.raises(errors.UsageError, match=r"--exclude-customer nobody, x: no manifest"):
        planner.select_customers(state, exclude=("Fabrikam GmbH", "nobody", "x"))
    chosen = planner.select_customers(state, include=("fabrikam gmbh",))
    assert [c.name for c in chosen] == ["Fabrikam GmbH"]
