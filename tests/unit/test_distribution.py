"""What the wheel carries: the demo's example manifests, the same as the repository's."""

from __future__ import annotations

import tomllib
from pathlib import Path

from reconciler.cli import demo

ROOT = Path(__file__).resolve().parents[2]


def _files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_the_packaged_example_manifests_are_the_repositorys() -> None:
    packaged = demo.example_manifests()
    assert packaged.is_relative_to(ROOT / "reconciler")
    assert _files(packaged) == _files(ROOT / "manifests")
    assert "customers/woodgrove.yaml" in _files(packaged)


def test_the_distribution_name_is_not_the_import_name() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["name"] == "csp-reconciler"  # "reconciler" on the index is someone else's
    assert project["scripts"] == {"reconciler": "reconciler.cli.main:run"}
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]
    assert "_data/**/*" in package_data["setuptools"]["package-data"]["reconciler"]
