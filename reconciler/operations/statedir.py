"""The state of ``apply`` read back: ``journal export`` (evidence for a billing dispute, from
the journals in the state directory and, with the shared backend, every run's journal in the
state container) and ``unlock`` (remove the lock of an apply whose holder is gone, from the
machine's lock directory, ``lock_dir``). ``shared`` reads which state backend is configured."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler import files, settings
from reconciler.applying import blobconfig, blobstate, journal, locking

FORMATS = ("csv", "json")


@dataclass(frozen=True, slots=True)
class JournalExport:
    """The export document; ``events`` rows, from the journals in ``folder`` (``found`` is
    False when there were none: evidence must not silently come out empty)."""

    document: str
    events: int
    found: bool
    folder: Path
    #: Where the journals were looked for (the folder, and the state container if shared).
    where: str = ""


def shared(
    environ: Mapping[str, str], *, backend: str | None = None, container_url: str | None = None
) -> blobconfig.Config | None:
    """The shared state backend (``--state-backend``/``RECONCILER_STATE_BACKEND`` azure), or
    None for the local one (the default)."""
    return blobconfig.configure(environ, backend=backend, container_url=container_url)


def export(
    state_dir: Path,
    fmt: str,
    customers: Sequence[str],
    shared: blobconfig.Config | None = None,
) -> JournalExport:
    """Every journalled event (of ``customers``, when given) as CSV or JSON (``fmt``): of the
    local journals, and with ``shared`` of every run in the state container too."""
    records = journal.read_records(state_dir)
    where = str(state_dir / "journal")
    if shared is not None:
        store = blobstate.Store.open(shared)
        records = journal.merge(store.read_records(), records)
        where += f" or the state container {shared.shown}"
    rows = list(journal.export_rows(records, customers=customers))
    doc = journal.to_csv(rows) if fmt == "csv" else journal.to_json(rows)
    return JournalExport(doc, len(rows), bool(records), state_dir / "journal", where)


def write(doc: JournalExport, out: Path) -> None:
    """Save the export atomically."""
    files.write_text(
        out,
        doc.document,
        what="the journal export",
        hint="Choose a writable path with --out (its directory must exist).",
    )


def lock_dir(environ: Mapping[str, str]) -> Path:
    """Where ``apply`` takes its lock per target tenant (in its ``locks/`` folder): one place
    for the whole machine (the user's), whatever ``--state-dir`` each run uses, so two applies
    can never both write to one target tenant. ``RECONCILER_LOCK_DIR`` overrides it (point
    every runner of a shared machine at one directory)."""
    if environ.get(settings.ENV_LOCK_DIR):
        return Path(environ[settings.ENV_LOCK_DIR]).expanduser()
    if os.name == "nt":
        base = Path(environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "reconciler"
    base = Path(environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "reconciler"


def unlock(environ: Mapping[str, str], lock_id: str) -> locking.LockInfo:
    """Remove the lock with ``lock_id`` (in the machine's lock directory) and return what it
    said."""
    return locking.unlock(lock_dir(environ), lock_id)
