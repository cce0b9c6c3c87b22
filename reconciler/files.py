"""The one way the project writes a whole file: atomically.

A temporary file in the same directory is written, flushed and fsync'ed, then renamed over the
target (``os.replace``), so a reader sees the old file or the new one, never half of either,
and a crash leaves no torn file. The temporary file is removed on any error, and an
``OSError`` becomes one ``FileWriteError`` paragraph naming the path and what to do. Every
writer uses it: saved plans, exported manifests, journal exports, the token cache, the lock
file. It sits in the bottom layer so that every layer may. It must NOT know what it writes.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from reconciler import errors


def write_text(
    path: Path,
    text: str,
    *,
    what: str,
    hint: str,
    overwrite: bool = True,
    exists_hint: str = "",
    mode: int = 0o666,
    make_parents: bool = False,
) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically; see ``write_bytes``."""
    write_bytes(
        path,
        text.encode("utf-8"),
        what=what,
        hint=hint,
        overwrite=overwrite,
        exists_hint=exists_hint,
        mode=mode,
        make_parents=make_parents,
    )


def write_bytes(
    path: Path,
    data: bytes,
    *,
    what: str,
    hint: str,
    overwrite: bool = True,
    exists_hint: str = "",
    mode: int = 0o666,
    make_parents: bool = False,
) -> None:
    """Write ``data`` to ``path`` atomically; see ``write_chunks``."""
    write_chunks(
        path,
        (data,),
        what=what,
        hint=hint,
        overwrite=overwrite,
        exists_hint=exists_hint,
        mode=mode,
        make_parents=make_parents,
    )


def write_chunks(
    path: Path,
    chunks: Iterable[bytes],
    *,
    what: str,
    hint: str,
    overwrite: bool = True,
    exists_hint: str = "",
    mode: int = 0o666,
    make_parents: bool = False,
) -> None:
    """Write the concatenated ``chunks`` to ``path`` atomically, never holding all of them.

    ``what`` names the file in a failure ("the plan file"); ``hint`` says what to do about it.
    ``overwrite=False`` never replaces an existing file: one that appeared meanwhile is left
    alone and reported with ``exists_hint``. ``mode`` is the new file's permission bits (the
    umask applies, as for any new file); 0o600 keeps a secret readable only by its owner.
    ``make_parents`` creates missing directories first (with ``mode``'s owner bits plus search).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        if make_parents:
            private = mode & 0o077 == 0  # a secret's directory is private too
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        with os.fdopen(os.open(tmp, flags, mode), "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        _publish(tmp, path, overwrite=overwrite, exists_hint=exists_hint)
    except OSError as exc:
        raise errors.FileWriteError(
            f"Cannot write {what} {path}: {exc.strerror or exc}. {hint}".rstrip()
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


def _publish(tmp: Path, path: Path, *, overwrite: bool, exists_hint: str) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if the name exists: never overwrite by accident
    except FileExistsError:
        raise errors.FileWriteError(
            f"{path} already exists; it was left as it is. {exists_hint}".rstrip()
        ) from None


# ------------------------------------------------------------------------------------ reading

#: Largest files the tool reads back (bytes). Each read takes at most cap + 1 bytes, so a huge
#: file, ``/dev/zero`` or a file that keeps growing costs no more memory than the cap.
#:
#: Plans: the largest plan the tool supports (docs/plan-format.md §10) is ``MAX_PLAN_SCALE``,
#: about 180 MB of JSON in format version 2 (``bench/bench_plandoc.py``); the cap (on the
#: decompressed document) covers it with a margin of about 1.4.
MAX_PLAN_SCALE = "10,000 customers and 100,000 subscriptions"
MAX_PLAN_BYTES = 256 * 1024 * 1024
#: At most this many JSON values in a plan (counted from its commas and brackets before it is
#: parsed): about twice those of a plan of ``MAX_PLAN_SCALE`` (5.8 million), so the parsed
#: form of a hostile file within the byte cap (``[{},{},...]``) costs at most about twice the
#: memory of the largest plan, never the ~60 bytes per input byte it could otherwise.
MAX_PLAN_VALUES = 12_000_000
MAX_JOURNAL_BYTES = 64 * 1024 * 1024
MAX_TOKEN_CACHE_BYTES = 4 * 1024 * 1024
MAX_CREDENTIALS_BYTES = 1024 * 1024
MAX_LOCK_BYTES = 64 * 1024


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n} bytes"


#: Bytes read at a time: ``read(cap + 1)`` in one call would reserve the whole cap (256 MiB
#: for a plan file) however small the file.
_CHUNK = 1024 * 1024


def _read_at_most(fh: BinaryIO, limit: int) -> bytes:
    """Up to ``limit`` bytes of ``fh``, in chunks, so memory follows the file's real size."""
    parts: list[bytes] = []
    left = limit
    while left > 0:
        chunk = fh.read(min(_CHUNK, left))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def read_bounded(
    path: Path,
    *,
    cap: int,
    what: str,
    hint: str,
    error: type[errors.ReconcilerError],
) -> bytes:
    """The bytes of ``path``, reading at most ``cap + 1`` of them.

    A file larger than ``cap`` raises ``error`` naming ``what`` (``the plan file``), the path
    and the cap; so does any ``OSError``. ``FileNotFoundError`` is passed through unchanged
    for callers to whom a missing file means something (no token cache yet).
    """
    try:
        with path.open("rb") as fh:
            known = os.fstat(fh.fileno())
            # A regular file's size is known: one over the cap is refused unread. Devices,
            # pipes and files that grow are read to cap + 1 bytes at most.
            over = stat.S_ISREG(known.st_mode) and known.st_size > cap
            data = b"" if over else _read_at_most(fh, cap + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(f"Cannot read {what} {path}: {exc.strerror or exc}. {hint}".rstrip()) from None
    if over or len(data) > cap:
        raise error(
            f"{what[:1].upper()}{what[1:]} {path} is larger than {_mib(cap)}, more than it can "
            f"legitimately be; it was not read. {hint}".rstrip()
        )
    return data


def json_values_at_most(data: bytes) -> int:
    """An upper bound of the number of values (and object members) in the JSON text
    ``data``: every one but the first of an array or object follows a comma, and each array
    or object opens with a bracket. Brackets and commas inside strings count too, so the
    bound is never below the truth. C-speed (``bytes.count``), without parsing."""
    return data.count(b",") + data.count(b"{") + data.count(b"[") + 1


#: The first bytes of every gzip stream (RFC 1952); no JSON or YAML document starts with them.
GZIP_MAGIC = b"\x1f\x8b"


def gunzip_bounded(
    data: bytes,
    *,
    cap: int,
    path: Path,
    what: str,
    hint: str,
    error: type[errors.ReconcilerError],
) -> bytes:
    """The decompressed bytes of the gzip stream ``data``, never more than ``cap`` of them: a
    small file that inflates to gigabytes (a "zip bomb") is refused after ``cap + 1`` bytes
    have been produced, as a plain file over ``cap`` is. A truncated or damaged stream is
    ``error`` too."""
    import zlib  # only for .gz files

    what_ = f"{what[:1].upper()}{what[1:]}"
    parts: list[bytes] = []
    produced = 0
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            pending = rest
            while not inflater.eof:
                chunk = inflater.decompress(pending, cap + 1 - produced)
                produced += len(chunk)
                parts.append(chunk)
                if produced > cap:
                    raise error(
                        f"{what_} {path} decompresses to more than {_mib(cap)}, more than it "
                        f"can legitimately be; it was not read. {hint}".rstrip()
                    )
                if not chunk and not pending:  # no input left and no output: it ends early
                    break
                pending = inflater.unconsumed_tail
            if not inflater.eof:
                raise zlib.error("the compressed data ends early (a truncated file?)")
            rest = inflater.unused_data  # a further gzip member (``cat a.gz b.gz``)
    except zlib.error as exc:
        raise error(
            f"{what_} {path} is not a readable gzip file ({exc}). {hint}".rstrip()
        ) from None
    return b"".join(parts)


def decode_utf8(
    data: bytes, *, path: Path, what: str, hint: str, error: type[errors.ReconcilerError]
) -> str:
    """``data`` as text, or ``error`` naming the byte offset of the first invalid byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{what[:1].upper()}{what[1:]} {path} is not UTF-8 text (an invalid byte on line "
            f"{line}, at byte offset {exc.start}). {hint}".rstrip()
        ) from None


def json_loads(text: str) -> object:
    """``json.loads`` whose failures are all ``ValueError``: nesting too deep for the parser
    (``RecursionError``) is reported as such instead of crashing the caller."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to be a document of this tool") from None
