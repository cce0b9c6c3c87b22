"""The one way the project writes a whole file: atomically.

A temporary file in the same directory is written, flushed and fsync'ed, then renamed over the
target (``os.replace``), so a reader sees the old file or the new one, never half of either,
and a crash leaves no torn file. The temporary file is removed on any error, and an
``OSError`` becomes one ``FileWriteError`` paragraph naming the path and what to do. Every
writer uses it: saved plans, exported manifests, journal exports, the token cache, the lock
file. It sits in the bottom layer so that every layer may. It must NOT know what it writes.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically.

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
            fh.write(text.encode("utf-8"))
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
