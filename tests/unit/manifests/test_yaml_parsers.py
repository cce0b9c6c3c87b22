"""The libyaml and pure-Python parsers read every document to the same values and marks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.manifests import yamlsafe

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "consolidation-repo" / "manifests"

MIXED = (
    "# comment\n"
    "base: &base {quantity: 5, name: 'Zoë \U0001f600'}\n"
    "list:\n"
    "  - <<: *base\n"
    '    key: "one\\u00e9"\n'
    "  - [1, -2, 3.5, true, null, ~, 2024-01-01, !custom tagged]\n"
    "text: |\n"
    "  line one\n"
    "  line two\n"
    "---\n"
    "second: document\n"
)


@pytest.fixture(autouse=True)
def yaml_parser() -> str:
    """This module compares the parsers itself (overrides the per-parser runs of conftest)."""
    return yamlsafe.parser


def _read(
    text: str, parser: str
) -> list[tuple[object, dict[object, object], dict[object, object]]]:
    original = yamlsafe.parser
    yamlsafe.parser = parser
    try:
        documents, issues = yamlsafe.parse_documents(text)
    finally:
        yamlsafe.parser = original
    assert issues == []
    return [(d.data, d.values, d.keys) for d in documents]


def test_libyaml_is_the_parser_when_pyyaml_has_it() -> None:
    assert getattr(yaml, "__with_libyaml__", False), "the PyYAML wheel here lacks libyaml"
    assert "libyaml" in yamlsafe.LOADERS
    assert yamlsafe.DEFAULT_PARSER == yamlsafe.parser == "libyaml"


@pytest.mark.parametrize(
    "text",
    [MIXED, *(p.read_text("utf-8") for p in sorted(EXAMPLE.rglob("*.yaml")))],
    ids=["mixed", *(p.name for p in sorted(EXAMPLE.rglob("*.yaml")))],
)
def test_both_parsers_give_the_same_values_and_marks(text: str) -> None:
    fast = _read(text, "libyaml")
    assert fast == _read(text, "python")
    assert fast[0][1]  # marks were recorded
