"""One error tree: every expected failure class lives in ``reconciler.errors``, and the base
class is never raised bare (a user would get a message no handler can tell apart)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import reconciler
from reconciler import errors
from reconciler.partner_center import errors as api_errors

PACKAGE_DIR = Path(reconciler.__file__).parent


def _import_every_module() -> list[str]:
    names = []
    for info in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="reconciler."):
        if info.name.endswith("__main__"):
            continue  # running it would start the CLI
        importlib.import_module(info.name)
        names.append(info.name)
    return names


def _all_subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    todo = [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def _outside(classes: set[type]) -> list[str]:
    """The project's classes among ``classes`` not defined in ``reconciler.errors``."""
    return sorted(
        f"{c.__module__}.{c.__qualname__}"
        for c in classes
        if c.__module__.startswith("reconciler") and c.__module__ != "reconciler.errors"
    )


def test_every_reconciler_error_is_defined_in_reconciler_errors() -> None:
    modules = _import_every_module()
    assert len(modules) > 50  # the walk really imported the package
    subclasses = _all_subclasses(errors.ReconcilerError)
    outside = _outside(subclasses)
    assert outside == [], f"define these in reconciler/errors.py: {outside}"
    # The walk sees the classes that used to live elsewhere, so it would catch one put back.
    names = {c.__name__ for c in subclasses}
    assert {"ApiThrottled", "OrderInProgress", "WireFormatError", "ReadError"} <= names


def test_a_class_defined_outside_the_tree_is_reported() -> None:
    """A self-check of the filter above (without defining a stray subclass for real)."""
    stray = type("Stray", (), {"__module__": "reconciler.cli.export"})
    assert _outside({errors.ApiError, stray}) == ["reconciler.cli.export.Stray"]


def test_names_kept_where_callers_use_them_are_the_same_classes() -> None:
    assert api_errors.ApiError is errors.ApiError
    assert api_errors.error_class(429, None) is errors.ApiThrottled


def test_a_wire_format_error_reaches_the_user_as_a_reconciler_error() -> None:
    """It used to be a bare ValueError: the CLI would have shown it as a crash."""
    assert issubclass(errors.WireFormatError, errors.ReconcilerError)
    assert not issubclass(errors.WireFormatError, ValueError)


def _bare_raises(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "ReconcilerError":
                lines.append(node.lineno)
    return lines


def test_the_base_class_is_never_raised_bare() -> None:
    offenders = {
        str(path.relative_to(PACKAGE_DIR)): found
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if (found := _bare_raises(path))
    }
    assert offenders == {}, "raise a specific subclass from reconciler/errors.py instead"


@pytest.mark.parametrize(
    "source",
    ["raise errors.ReconcilerError('x')", "raise ReconcilerError('x') from None"],
)
def test_the_bare_raise_check_sees_both_spellings(tmp_path: Path, source: str) -> None:
    path = tmp_path / "m.py"
    path.write_text(f"def f():\n    {source}\n", encoding="utf-8")
    assert _bare_raises(path) == [2]
