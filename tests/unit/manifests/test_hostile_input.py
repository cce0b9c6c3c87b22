"""Every file of the hostile-input corpus gets exit 1, a located message and no traceback."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest

from reconciler import manifests

CORPUS = Path(__file__).resolve().parents[2] / "data" / "hostile"

#: file -> (line of the problem, a fragment the message must contain)
EXPECTED: dict[str, tuple[int, str]] = {
    "billion_laughs.yaml": (4, "billion laughs"),
    "deep_nesting.yaml": (1, "nesting"),
    "not_utf8.yaml": (4, "not valid UTF-8"),
    "nul_bytes.yaml": (2, "NUL"),
    "tabs.yaml": (4, "tab"),
    "empty.yaml": (1, "empty"),
    "comments_only.yaml": (1, "empty"),
    "duplicate_key.yaml": (13, "duplicate key 'quantity' (first defined at line 12"),
    "list_not_mapping.yaml": (1, "must be a mapping"),
    "list_where_mapping_belongs.yaml": (4, "must be a mapping, not a list"),
    "mapping_where_list_belongs.yaml": (9, "must be a list, not a mapping"),
    "recursive_alias.yaml": (3, "recursive alias"),
    "python_tag.yaml": (3, "must be a mapping, not a list"),
    "syntax_error.yaml": (4, "not valid YAML"),
    "unknown_kind.yaml": (2, "it must be one of Consolidation, Offers, Customer"),
    "scalar_document.yaml": (1, "must be a mapping"),
    "secret_field.yaml": (7, "looks like a secret"),
    "jwt_value.yaml": (5, "JSON Web Token"),
    "quantity_zero.yaml": (12, "quantity must be at least 1, not 0"),
    "wrong_types.yaml": (8, "must be true or false"),
    # Numbers are plain decimal integers (issue 11: 25.0 validated, then apply crashed).
    "quantity_float.yaml": (12, "must be a whole number, not the decimal number 25.0: write 25"),
    "quantity_exponent.yaml": (12, "not the decimal number 1000.0: write 1000"),
    "quantity_octal.yaml": (12, "reads 010 as the octal number 8: write 10"),
    "quantity_hex.yaml": (12, "reads 0x10 as the hexadecimal number 16: write 16"),
    # Keys and ids with control characters (a trailing newline passed Python's `$`).
    "key_with_newline.yaml": (9, '"office\\n" is not a valid key'),
    "id_with_newline.yaml": (4, "is not a tenant id"),
    "mapping_key_with_control.yaml": (12, "contains a control character ('\\x1b')"),
    # Merge keys: no silent last-wins.
    "merge_duplicate_key.yaml": (10, "duplicate key 'quantity' (first defined at line 10"),
    "merge_twice.yaml": (13, "a second merge key '<<' (the first is at line 12"),
    # A control character anywhere, even inside quotes: YAML refuses the file (was a crash).
    "control_character.yaml": (5, "the control character U+0007 is not allowed in YAML"),
}


def test_corpus_is_complete() -> None:
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_file_is_refused_with_a_located_message(
    name: str, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CORPUS)
    path = name
    line, fragment = EXPECTED[name]
    result = run_cli("validate", str(path))
    assert result.code == 1
    assert "Traceback" not in result.output
    lines = [ln for ln in result.out.splitlines() if ln.startswith(path)]
    assert lines, result.output
    for ln in lines:
        assert re.match(rf"^{re.escape(path)}:\d+:\d+: \$\S*: \S", ln), ln
    hits = [ln for ln in lines if fragment in ln]
    assert hits, f"no message containing {fragment!r} in:\n{result.out}"
    assert any(ln.startswith(f"{path}:{line}:") for ln in hits), hits
    assert re.search(r"^\d+ problems? in \d+ files?", result.out, re.M)


def test_billion_laughs_is_refused_in_bounded_memory() -> None:
    tracemalloc.start()
    try:
        report = manifests.check([CORPUS / "billion_laughs.yaml"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert any("billion laughs" in p.message for p in report.problems)
    assert peak < 100 * 1024 * 1024


def test_oversized_file_is_refused_without_reading_it(tmp_path: Path, run_cli) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("apiVersion: reconciler/v1\nkind: Customer\n" + "# padding\n" * 120_000)
    result = run_cli("validate", str(big))
    assert result.code == 1
    assert "over the 1,048,576-byte limit" in result.out
    assert result.out.startswith(f"{big}:1:1: $: ")


def test_directory_without_manifests_is_an_error(tmp_path: Path, run_cli) -> None:
    (tmp_path / "README.md").write_text("not a manifest")
    result = run_cli("validate", str(tmp_path))
    assert result.code == 1
    assert "holds no manifests" in result.out


def test_missing_path_is_an_error(tmp_path: Path, run_cli) -> None:
    result = run_cli("validate", str(tmp_path / "nope"))
    assert result.code == 1
    assert "no such file or directory" in result.out


def test_python_tags_are_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    doc = tmp_path / "evil.yaml"
    doc.write_text(
        "apiVersion: reconciler/v1\nkind: Customer\n"
        f"customer: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    manifests.check([doc])
    assert not marker.exists()
