"""Finding and reading manifest files: paths in, located YAML documents out.

Refuses what a reviewer could not trust, each as a located ``Problem`` rather than a
traceback: oversized files, bytes that are not UTF-8, text that is not YAML, empty files, a
directory with no manifests. It does not know about kinds or schemas (``validation`` does).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from reconciler.errors import Problem
from reconciler.manifests import yamlsafe

#: Largest manifest file accepted. A customer with hundreds of subscriptions is ~100 KiB.
MAX_FILE_BYTES = 1024 * 1024
SUFFIXES = (".yaml", ".yml")


@dataclass(slots=True)
class ManifestFile:
    """A file that was read, with its documents (empty when it could not be parsed)."""

    path: Path
    display: str
    documents: list[yamlsafe.Document]


@dataclass(slots=True)
class ReadResult:
    files: list[ManifestFile]
    problems: list[Problem]


def display_name(path: PurePath, *, cwd: PurePath | None = None) -> str:
    """The path as the user would type it: relative when inside the working directory.

    Relative paths use ``/`` on every platform (Windows accepts it), so ``file:line:col``
    messages and the origins a plan document quotes are the same wherever it was made.
    """
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(cwd or Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[Problem]]:
    """The manifest files under ``paths`` (files as given; directories searched recursively for
    ``*.yaml``/``*.yml``, hidden entries skipped), sorted, each once."""
    found: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        shown = display_name(path)
        if not path.exists():
            problems.append(Problem(shown, 1, 1, "$", "no such file or directory; check the path"))
        elif path.is_dir():
            inside = sorted(_walk(path))
            if not inside:
                problems.append(
                    Problem(
                        shown,
                        1,
                        1,
                        "$",
                        "this directory holds no manifests (*.yaml or *.yml files); point "
                        "to the directory with your consolidation.yaml and customer files",
                    )
                )
            found.extend(inside)
        else:
            found.append(path)
    unique = sorted({p.resolve(): p for p in found}.values(), key=str)
    return unique, problems


def _walk(directory: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.endswith(SUFFIXES) and not name.startswith("."):
                yield Path(root) / name


def read(paths: Sequence[Path]) -> ReadResult:
    """Read and parse every manifest file under ``paths``; never raises for bad content."""
    files, problems = discover(paths)
    result = ReadResult(files=[], problems=problems)
    for path in files:
        result.files.append(_read_one(path, result.problems))
    return result


def _read_one(path: Path, problems: list[Problem]) -> ManifestFile:
    shown = display_name(path)
    file = ManifestFile(path=path, display=shown, documents=[])
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.append(
                Problem(
                    shown,
                    1,
                    1,
                    "$",
                    f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit for one "
                    "manifest; split it (one file per customer)",
                )
            )
            return file
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(shown, 1, 1, "$", f"cannot read the file: {exc.strerror}"))
        return file
    text = _decode(raw, shown, problems)
    if text is None:
        return file
    if not text.strip() or all(_blank_or_comment(line) for line in text.splitlines()):
        problems.append(
            Problem(
                shown,
                1,
                1,
                "$",
                "the file is empty; a manifest needs at least `apiVersion: reconciler/v1` and "
                "a `kind` (Consolidation, Offers or Customer), or delete the file",
            )
        )
        return file
    try:
        documents, issues = yamlsafe.parse_documents(text)
    except yamlsafe.YamlError as exc:
        problems.extend(_problem(shown, issue) for issue in exc.issues)
        return file
    problems.extend(_problem(shown, issue) for issue in issues)
    file.documents = documents
    return file


def _blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#") or stripped in {"---", "..."}


def _decode(raw: bytes, shown: str, problems: list[Problem]) -> str | None:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        problems.append(
            Problem(
                shown,
                line,
                column,
                "$",
                f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; manifests must be saved as "
                "UTF-8 (re-save the file with that encoding)",
            )
        )
        return None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        problems.append(
            Problem(shown, line, 1, "$", "the file contains NUL bytes; it is not a text file")
        )
        return None
    return text


def _problem(shown: str, issue: yamlsafe.YamlIssue) -> Problem:
    return Problem(
        shown, issue.mark.line, issue.mark.column, yamlsafe.json_path(issue.path), issue.message
    )
