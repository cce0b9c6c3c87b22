"""Finding and reading manifest files: paths in, located YAML documents out.

Refuses what a reviewer could not trust, each as a located ``Problem`` rather than a
traceback: oversized files, bytes that are not UTF-8, text that is not YAML, empty files, a
directory with no manifests. It does not know about kinds or schemas (``validation`` does).
"""

from __future__ import annotations

import os
import stat
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
    ``*.yaml``/``*.yml``, hidden entries skipped), sorted, each once.

    A symbolic link found in a directory is followed when it leads back inside one of the
    directories given (the "manifest tree") and reported otherwise; a directory that cannot be
    listed is reported: a manifest is never skipped silently.
    """
    found: list[Path] = []
    problems: list[Problem] = []
    roots = [p.resolve() for p in paths if p.is_dir()]
    for path in paths:
        shown = display_name(path)
        if not path.exists() and not path.is_symlink():
            problems.append(Problem(shown, 1, 1, "$", "no such file or directory; check the path"))
        elif path.is_dir():
            reported = len(problems)
            inside = sorted(_walk(path, roots, problems))
            if not inside and len(problems) == reported:
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
    unique = sorted({_identity(p): p for p in found}.values(), key=str)
    return unique, problems


def _identity(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: reported when the file is read
        return path


def _walk(directory: Path, roots: list[Path], problems: list[Problem]) -> Iterable[Path]:
    """Manifest files under ``directory``; symlinks are followed only into ``roots``."""
    seen: set[Path] = set()
    pending = [directory]
    while pending:
        current = pending.pop()
        real = current.resolve()
        if real in seen:  # reached twice through symlinks: its files are already listed
            continue
        seen.add(real)
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            problems.append(_unreadable_directory(current, exc))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
                wanted = is_dir or entry.name.endswith(SUFFIXES)
                # A dangling link may have been a directory of manifests: always reported.
                dangling = not is_dir and not entry.is_file()
                if (
                    (wanted or dangling)
                    and entry.is_symlink()
                    and not _leads_inside(path, roots, problems)
                ):
                    continue
            except OSError as exc:
                problems.append(_unreadable_directory(path, exc))
                continue
            if is_dir:
                pending.append(path)
            elif wanted:
                yield path


def _leads_inside(link: Path, roots: list[Path], problems: list[Problem]) -> bool:
    """Whether the symbolic link ``link`` resolves inside the manifest tree; reports it if not."""
    shown = display_name(link)
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        problems.append(
            Problem(
                shown,
                1,
                1,
                "$",
                f"this is a symbolic link to {os.readlink(link)}, which does not exist (or loops); "
                "fix or remove the link",
            )
        )
        return False
    if any(target.is_relative_to(root) for root in roots):
        return True
    problems.append(
        Problem(
            shown,
            1,
            1,
            "$",
            f"this is a symbolic link to {target}, outside the manifest directory, so it was not "
            "read: move what it points to into the manifest directory, or pass that path to the "
            "command as well",
        )
    )
    return False


def _unreadable_directory(path: Path, exc: OSError) -> Problem:
    return Problem(
        display_name(path),
        1,
        1,
        "$",
        f"cannot read this directory ({exc.strerror or exc}), so the manifests in it would be "
        "skipped: fix its permissions, or move it out of the manifest directory",
    )


def read(paths: Sequence[Path]) -> ReadResult:
    """Read and parse every manifest file under ``paths``; never raises for bad content."""
    files, problems = discover(paths)
    result = ReadResult(files=[], problems=problems)
    for path in files:
        result.files.append(_read_one(path, result.problems))
    return result


def _read_bytes(path: Path) -> bytes | str:
    """The file's bytes, or why they were not read: only a regular file is opened for reading,
    never more than ``MAX_FILE_BYTES`` + 1 bytes are read, and a FIFO never blocks (it is
    opened non-blocking, then refused)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    with os.fdopen(fd, "rb", buffering=0) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return (
                f"this is {_kind(info.st_mode)}, not a regular file; only regular files are read "
                "as manifests: replace it with the file itself"
            )
        if info.st_size > MAX_FILE_BYTES:
            return _too_big(info.st_size)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_FILE_BYTES:
            chunk = handle.read(MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
    if len(raw) > MAX_FILE_BYTES:  # it grew while being read
        return _too_big(len(raw))
    return raw


def _too_big(size: int) -> str:
    more = "" if size <= MAX_FILE_BYTES + 1 else f"{size:,} bytes, "
    return (
        f"file is {more}over the {MAX_FILE_BYTES:,}-byte limit for one manifest; split it (one "
        "file per customer)"
    )


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a special file"


def _read_one(path: Path, problems: list[Problem]) -> ManifestFile:
    shown = display_name(path)
    file = ManifestFile(path=path, display=shown, documents=[])
    raw = _read_bytes(path)
    if isinstance(raw, str):
        problems.append(Problem(shown, 1, 1, "$", raw))
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
