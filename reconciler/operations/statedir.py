"""The state directory of ``apply`` read back: ``journal export`` (evidence for a billing
dispute, from the journals) and ``unlock`` (remove the lock of an apply whose holder is gone)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler import files
from reconciler.applying import journal, locking

FORMATS = ("csv", "json")


@dataclass(frozen=True, slots=True)
class JournalExport:
    """The export document; ``events`` rows, from the journals in ``folder`` (``found`` is
    False when there were none: evidence must not silently come out empty)."""

    document: str
    events: int
    found: bool
    folder: Path


def export(state_dir: Path, fmt: str, customers: Sequence[str]) -> JournalExport:
    """Every journalled event (of ``customers``, when given) as CSV or JSON (``fmt``)."""
    records = journal.read_records(state_dir)
    rows = list(journal.export_rows(records, customers=customers))
    doc = journal.to_csv(rows) if fmt == "csv" else journal.to_json(rows)
    return JournalExport(doc, len(rows), bool(records), state_dir / "journal")


def write(doc: JournalExport, out: Path) -> None:
    """Save the export atomically."""
    files.write_text(
        out,
        doc.document,
        what="the journal export",
        hint="Choose a writable path with --out (its directory must exist).",
    )


def unlock(state_dir: Path, lock_id: str) -> locking.LockInfo:
    """Remove the lock with ``lock_id`` and return what it said."""
    return locking.unlock(state_dir, lock_id)
