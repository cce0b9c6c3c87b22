"""The customer manifest's `customerAgreement`: who at the customer accepted the Microsoft
Customer Agreement and on which day. Built into the desired state when well formed; every
problem is a `file:line:col` with its JSON path and a sentence, all of them in one run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler import manifests, model

EXAMPLES = Path(__file__).resolve().parents[3] / "manifests"
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "manifests")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "manifests"


def _append(tree: Path, name: str, text: str) -> int:
    """Append ``text`` to a customer file; returns the line number of its first line."""
    path = tree / "customers" / name
    before = path.read_text()
    path.write_text(before + text)
    return before.count("\n") + 1


def test_a_well_formed_record_is_built_with_where_it_was_declared(tree: Path) -> None:
    first = _append(
        tree,
        "fabrikam.yaml",
        "customerAgreement:\n"
        "  acceptedBy:\n"
        "    firstName: Anna\n"
        "    lastName: Weber\n"
        "    email: anna.weber@fabrikam.example\n"
        "    phoneNumber: '+49 30 1234567'\n"
        "  dateAgreed: 2026-11-30\n",
    )
    state = manifests.load([tree])
    fabrikam = state.customer(FABRIKAM)
    assert fabrikam is not None
    assert fabrikam.agreement == model.CustomerAgreement(
        first_name="Anna",
        last_name="Weber",
        email="anna.weber@fabrikam.example",
        phone_number="+49 30 1234567",
        date_agreed="2026-11-30",  # an unquoted YAML date stays the day as written
        origin=model.Origin("manifests/customers/fabrikam.yaml", first),
    )
    others = [c for c in state.customers if c.tenant_id != FABRIKAM]
    assert others and all(c.agreement is None for c in others)


def test_the_phone_number_is_optional(tree: Path) -> None:
    _append(
        tree,
        "fabrikam.yaml",
        "customerAgreement:\n"
        "  acceptedBy: {firstName: Anna, lastName: Weber, email: anna@fabrikam.example}\n"
        "  dateAgreed: '2026-11-30'\n",
    )
    fabrikam = manifests.load([tree]).customer(FABRIKAM)
    assert fabrikam is not None and fabrikam.agreement is not None
    assert fabrikam.agreement.phone_number == ""


def test_every_problem_of_every_record_is_located_in_one_run(tree: Path, run_cli) -> None:
    a = _append(
        tree,
        "fabrikam.yaml",
        "customerAgreement:\n"
        "  acceptedBy:\n"
        "    firstName: Anna\n"
        "    lastName: Weber\n"
        "    email: anna at fabrikam\n"
        "  dateAgreed: 30.11.2026\n",
    )
    b = _append(
        tree,
        "northwind.yaml",
        "customerAgreement:\n"
        "  acceptedBy:\n"
        "    firstName: Lee\n"
        "    lastName: Chen\n"
        "  dateAgreed: 2026-02-30\n",
    )
    c = _append(
        tree,
        "adatum.yaml",
        "customerAgreement:\n  signedBy: someone\n  dateAgreed: 2026-11-30\n",
    )
    result = run_cli("validate")
    assert result.code == 1
    lines = result.out.splitlines()

    def problem(prefix: str, fragment: str) -> str:
        found = [ln for ln in lines if ln.startswith(prefix) and fragment in ln]
        assert found, (prefix, fragment, result.output)
        return found[0]

    fab, north, adatum = (
        f"manifests/customers/{n}.yaml:" for n in ("fabrikam", "northwind", "adatum")
    )
    email = problem(f"{fab}{a + 4}:12: ", "$.customerAgreement.acceptedBy.email")
    assert "is not an email address" in email
    day = problem(f"{fab}{a + 5}:15: ", "$.customerAgreement.dateAgreed")
    assert "expected YYYY-MM-DD" in day
    missing = problem(f"{north}{b + 2}:", "$.customerAgreement.acceptedBy")
    assert "email" in missing
    # The calendar is checked too (the schema sees only the shape): on its own line.
    assert not any(ln.startswith(north) and "calendar" in ln for ln in lines)
    assert problem(f"{adatum}{c + 1}:", "signedBy")
    # Fixed, the calendar problem shows where it is.
    path = tree / "customers" / "northwind.yaml"
    path.write_text(
        path.read_text().replace(
            "    lastName: Chen\n", "    lastName: Chen\n    email: lee@northwind.example\n"
        )
    )
    again = run_cli("validate")
    [cal] = [ln for ln in again.out.splitlines() if "not a day of the calendar" in ln]
    assert cal.startswith(f"{north}{b + 5}:15: $.customerAgreement.dateAgreed")
