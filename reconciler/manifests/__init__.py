"""Manifests: the only package that reads YAML and JSON Schema.

``load(paths)`` returns the ``model.DesiredState`` or raises ``ManifestError`` carrying every
problem in every file; ``check(paths)`` returns the same findings as a ``Report`` for
``reconciler validate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler import model
from reconciler.errors import ManifestError, Problem
from reconciler.manifests import building, loading, validation


@dataclass(frozen=True, slots=True)
class Report:
    """Everything ``validate`` says: the problems (sorted by file and line) and the state."""

    files: int
    problems: tuple[Problem, ...]
    state: model.DesiredState | None


def check(paths: Sequence[Path]) -> Report:
    """Read, validate and build; never raises for bad manifests."""
    read = loading.read(paths)
    problems = list(read.problems)
    valid: list[building.Located] = []
    invalid: list[building.Located] = []
    for file in read.files:
        for doc in file.documents:
            found = validation.validate_document(file.display, doc)
            problems.extend(found)
            (invalid if found else valid).append(building.Located(file.display, doc))
    state = None
    if read.files and not problems:
        built = building.build(valid)
        problems.extend(built.problems)
        state = built.state
    elif read.files and valid:
        # Cross-file rules still run on the valid documents, and reference rules on the
        # invalid ones, so one run shows everything.
        problems.extend(building.build(valid).problems)
        problems.extend(building.references(invalid, valid))
    ordered = sorted(set(problems), key=lambda p: (p.file, p.line, p.column, p.path, p.message))
    return Report(files=len(read.files), problems=tuple(ordered), state=state)


def load(paths: Sequence[Path]) -> model.DesiredState:
    """The desired state of the manifests under ``paths``; ``ManifestError`` lists all problems."""
    report = check(paths)
    if report.problems or report.state is None:
        raise ManifestError(report.problems, files=report.files)
    return report.state
