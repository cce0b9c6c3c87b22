"""Saved plans: the plan document (``plan --out``) read back for ``show`` and ``apply``, and
written atomically (``reconciler.files``), gzip-compressed when the path ends in ``.gz``.
Every failure names the file and what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reconciler import errors, files
from reconciler.planning import actions, gcpause, planfile
from reconciler.rendering import jsondoc

#: A saved plan's file name ends in one of these (``plan.json``, ``plan.json.gz``).
SUFFIXES = (".json", ".gz")


def write_plan(plan: actions.Plan, path: Path) -> None:
    """Save the plan document atomically: a reader sees the old file or the new, never half.
    A path ending in ``.gz`` gets it gzip-compressed (reproducibly: no time stamp, no name).
    The document is streamed: one change's text is held at a time, never the whole file."""
    data: Iterator[bytes] = (piece.encode("utf-8") for piece in jsondoc.chunks(plan))
    if path.suffix.lower() == ".gz":
        data = _gzip(data)
    files.write_chunks(path, data, what="the plan file", hint="Choose a writable path with --out.")


def _gzip(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """``pieces`` as one gzip stream (zlib's gzip header: time stamp 0, no file name)."""
    import zlib

    deflate = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for piece in pieces:
        out = deflate.compress(piece)
        if out:
            yield out
    yield deflate.flush()


def read_plan(path: Path) -> actions.Plan:
    """Load a saved plan; every failure is a PlanFileError naming the file.

    The file's bytes, its text and the parsed JSON are each dropped as soon as the next form
    exists, so reading holds at most two of them at a time."""
    data = _parse(_text(path), path)
    return planfile.from_dict(data, source=f"The plan file {path}")


#: What to do about a plan too large to read: the supported maximum, and how to stay below it.
_TOO_LARGE = (
    f"A plan holds at most {files.MAX_PLAN_SCALE} (docs/plan-format.md §10): plan a larger "
    "estate in parts with --source or --customer."
)


def _text(path: Path) -> str:
    """The plan file's text: read within the cap, gunzipped within the cap, with at most
    ``files.MAX_PLAN_VALUES`` JSON values, UTF-8."""
    hint = "Check the path, or write one with `reconciler plan --out FILE`."
    try:
        data_bytes = files.read_bounded(
            path,
            cap=files.MAX_PLAN_BYTES,
            what="the plan file",
            hint=f"{hint} {_TOO_LARGE}",
            error=errors.PlanFileError,
        )
    except FileNotFoundError:
        raise errors.PlanFileError(
            f"Cannot read the plan file {path}: No such file or directory. {hint}"
        ) from None
    if data_bytes.startswith(files.GZIP_MAGIC):  # plan --out FILE.gz; caps the inflated size
        data_bytes = files.gunzip_bounded(
            data_bytes,
            cap=files.MAX_PLAN_BYTES,
            path=path,
            what="the plan file",
            hint=f"Write it again with `reconciler plan --out FILE.gz`. {_TOO_LARGE}",
            error=errors.PlanFileError,
        )
    if files.json_values_at_most(data_bytes) > files.MAX_PLAN_VALUES:
        raise errors.PlanFileError(
            f"The plan file {path} holds more JSON values than a plan of "
            f"{files.MAX_PLAN_SCALE} can (over {files.MAX_PLAN_VALUES:,}); it was not read. "
            f"Write it again with `reconciler plan --out FILE`. {_TOO_LARGE}"
        )
    return files.decode_utf8(
        data_bytes,
        path=path,
        what="the plan file",
        error=errors.PlanFileError,
        hint="It was not written by `reconciler plan --out`; write it again.",
    )


def _parse(raw: str, path: Path) -> Any:
    try:
        with gcpause.paused():  # a large plan is millions of small objects
            return files.json_loads(raw)
    except ValueError as exc:
        raise errors.PlanFileError(
            f"The plan file {path} is not valid JSON ({exc}); it may be truncated. Re-run "
            "`reconciler plan --out FILE`."
        ) from None
