"""The apply journal: one append-only, fsync'ed JSON-lines file per run under
``<state dir>/journal/<run id>.jsonl``, the record of applied plan ids, and the export Microsoft
support asks for in a billing dispute.

Every line is one event of one step: ``started`` before a write is sent, then ``succeeded``,
``failed``, ``unknown`` (the write may have happened) or ``skipped`` (a re-check no longer
held). A crash leaves a ``started`` line without an outcome; the next run reads it to look for
the write's effect before sending anything again.

This module must NOT decide what to apply, talk to Partner Center, or hold anything secret:
records carry ids, counts, statuses and messages that were already free of tokens.
"""

from __future__ import annotations

import csv
import enum
import errno
import hashlib
import io
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict, Unpack, cast

from reconciler import errors, escaping, files
from reconciler.planning import actions


class Phase(enum.StrEnum):
    """Where a step is; every journal line records one."""

    #: Written (and fsync'ed) before the write is sent.
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: The write may have happened: the next run looks for its effect before sending again.
    UNKNOWN = "unknown"
    #: A re-check no longer held; nothing was sent.
    SKIPPED = "skipped"


#: Phases after which a create may exist without the journal knowing its outcome.
OPEN = frozenset({Phase.STARTED, Phase.UNKNOWN})


class Details(TypedDict, total=False):
    """What a step's event says beyond the change itself."""

    #: The subscription written (for a create: the one ordered, once known).
    subscription_id: str | None
    #: The MS-RequestId the write was (or will be) sent with.
    request_id: str
    #: For a create through a cart: the MS-RequestId of the cart created before the checkout
    #: (``request_id`` is the checkout's, the write that orders).
    cart_request_id: str
    reason: str
    #: What Partner Center answered (status and seats, order and subscription id, transfer id).
    result: Mapping[str, actions.Scalar]


class Event(Details, total=False):
    """What the executor writes for one step (``Journal.append`` adds ``ts`` and the ids)."""

    step: str
    action: str
    #: The partner tenant the write goes to.
    tenant: str
    customer_id: str
    customer_name: str
    key: str | None
    phase: Phase
    correlation_id: str
    before: dict[str, actions.Scalar]
    after: dict[str, actions.Scalar]


class Record(Event, total=False):
    """One journal line as written and read back. Lines of older runs or edited by hand may
    lack fields: readers use ``.get``."""

    ts: str
    run_id: str
    plan_id: str


EXPORT_COLUMNS = (
    "ts",
    "run_id",
    "plan_id",
    "customer_id",
    "customer_name",
    "tenant",
    "action",
    "subscription_id",
    "key",
    "phase",
    "request_id",
    "correlation_id",
    "order_id",
    "before_status",
    "after_status",
    "before_quantity",
    "after_quantity",
    "reason",
)


def plan_id(plan: actions.Plan) -> str:
    """A stable id of a plan document: what was planned, on which live state, when."""
    parts = [
        plan.created_at.isoformat(),
        plan.inputs_digest,
        plan.target,
        [[c.tenant_id, c.fingerprint] for c in plan.customers],
        [
            [c.id, c.action.value, str(c.address), c.before, c.after, c.depends_on]
            for c in plan.changes
        ],
    ]
    raw = json.dumps(parts, separators=(",", ":"), sort_keys=True, default=dict)
    return "plan-" + hashlib.sha256(raw.encode()).hexdigest()[:16]


def _dump(record: Mapping[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), sort_keys=True, default=str) + "\n"


class Journal:
    """Appends the events of one run to its file; every line is flushed and fsync'ed.

    Thread-safe, with one writer at a time: the concurrent apply's workers share one journal,
    and each line is written (to the mirror too) and fsync'ed whole under a lock before the
    next is begun, so the file never holds interleaved or torn lines (but for a kill in the
    middle of the last), and the mirror gets the lines in the same order.

    ``mirror``, when given, receives every line too (the shared state backend appends it to
    the run's blob, after checking that the shared lock is still held): a ``started`` line
    before the local file, so when the mirror raises a ``JournalError`` it is written nowhere
    and the caller sends no write; an outcome after it, so it is never lost locally."""

    def __init__(
        self,
        state_dir: Path,
        run_id: str,
        plan_id: str,
        *,
        mirror: Callable[[bytes], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.plan_id = plan_id
        self._mirror = mirror
        directory = state_dir / "journal"
        self.path = directory / f"{run_id}.jsonl"
        self._lock = threading.Lock()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise self._failure(exc, started=False) from None

    def append(self, *, ts: datetime, **fields: Unpack[Event]) -> Record:
        """Write one event (``ts``, run and plan ids added) durably before returning it.

        Raises ``JournalError`` when the line cannot be made durable: the caller sends no
        write whose "started" line failed (a torn line is skipped by ``read_records``)."""
        record: Record = {
            "ts": ts.isoformat(),
            "run_id": self.run_id,
            "plan_id": self.plan_id,
            **fields,
        }
        line = _dump(record).encode()
        with self._lock:
            self._append(line, announces=fields.get("phase") == Phase.STARTED)
        return record

    def _append(self, line: bytes, *, announces: bool) -> None:
        # A "started" line announces a write: the shared journal (and its lease check) first,
        # so a lost lease records it nowhere. An outcome is made durable here first.
        if self._mirror is not None and announces:
            self._mirror(line)
        try:
            _write_all(self._fd, line)
            os.fsync(self._fd)
        except OSError as exc:
            raise self._failure(exc, started=True) from None
        if self._mirror is not None and not announces:
            self._mirror(line)

    def _failure(self, exc: OSError, *, started: bool) -> errors.JournalError:
        when = "Nothing was sent after the last step it recorded" if started else "Nothing was sent"
        return errors.JournalError(
            f"Cannot write the apply journal {self.path}: {exc.strerror or exc}. {when}. Free "
            "disk space or fix the permissions of the state directory (--state-dir), then run "
            "`reconciler apply` again: it resumes from live state."
        )

    def close(self) -> None:
        """Close the file (appends after this fail)."""
        with self._lock:
            os.close(self._fd)


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` (``os.write`` may write less than asked, e.g. on a full disk)."""
    while data:
        n = os.write(fd, data)
        if n <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        data = data[n:]


def read_records(state_dir: Path) -> list[Record]:
    """Every event of every run, oldest run first. A torn last line (crash mid-write) is
    ignored; any other unreadable line is an error naming the file and line."""
    out: list[Record] = []
    directory = state_dir / "journal"
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.jsonl")):
        out.extend(parse_lines(_lines(path), str(path)))
    return out


def parse_lines(lines: Sequence[bytes], where: str) -> list[Record]:
    """The records of one journal's ``lines`` (``where`` names it in errors): a torn last
    line is ignored, any other unreadable line is a ``JournalError``."""
    out: list[Record] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(_record(files.json_loads(line.decode("utf-8"))))
        except ValueError as exc:  # UnicodeDecodeError is one too
            if n == len(lines):
                continue  # torn write of a killed run: the step stays "started"
            raise errors.JournalError(
                f"Journal {where}:{n} is not a journal event ({_short(exc)}); move the file "
                "aside and run `reconciler apply` again (live state decides what is left "
                "to do)."
            ) from None
    return out


def merge(shared: Sequence[Record], local: Sequence[Record]) -> list[Record]:
    """The shared journal's records, then those of local runs it does not hold (runs made
    before the shared backend was configured): each run counted once."""
    runs = {r.get("run_id") for r in shared}
    both = [*shared, *(r for r in local if r.get("run_id") not in runs)]
    # Run ids start with their UTC start time: oldest run first, each run's lines in order.
    return sorted(both, key=lambda r: str(r.get("run_id")))


def _lines(path: Path) -> list[bytes]:
    """The lines of one journal file (size-capped: a journal is never larger than the cap)."""
    try:
        data = files.read_bounded(
            path,
            cap=files.MAX_JOURNAL_BYTES,
            what="the journal",
            hint="Move the file aside; live state decides what is left to do.",
            error=errors.JournalError,
        )
    except FileNotFoundError:
        return []
    return data.splitlines()


def _short(exc: ValueError) -> str:
    text = str(exc)
    return text if len(text) <= 120 else text[:119] + "…"


#: Fields every reader relies on, and the types a line must give them when present.
_TEXT_FIELDS = (
    "ts",
    "run_id",
    "plan_id",
    "step",
    "action",
    "tenant",
    "customer_id",
    "customer_name",
    "request_id",
    "cart_request_id",
    "correlation_id",
    "reason",
)
_OPTIONAL_TEXT = ("key", "subscription_id")
_MAPPINGS = ("before", "after", "result")


def _record(doc: object) -> Record:
    """A parsed line as a ``Record`` (its phase as a ``Phase``); ValueError when it is none:
    not an object, no ``ts`` or ``run_id``, a field of the wrong type, an unknown phase."""
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    for name in ("ts", "run_id"):
        if name not in doc:
            raise ValueError(f"no {name!r}")
    for name in _TEXT_FIELDS:
        if name in doc and not isinstance(doc[name], str):
            raise ValueError(f"{name!r} is not a string")
    for name in _OPTIONAL_TEXT:
        if doc.get(name) is not None and not isinstance(doc[name], str):
            raise ValueError(f"{name!r} is not a string")
    for name in _MAPPINGS:
        if doc.get(name) is not None and not isinstance(doc[name], dict):
            raise ValueError(f"{name!r} is not an object")
    if "phase" in doc:
        try:
            doc["phase"] = Phase(doc["phase"])
        except (ValueError, TypeError):
            raise ValueError(f"unknown phase {str(doc['phase'])[:40]!r}") from None
    return cast(Record, doc)


@dataclass(frozen=True, slots=True)
class Pending:
    """A create whose last journalled phase was ``started`` or ``unknown``: it may exist."""

    customer_id: str
    key: str
    friendly_name: str
    request_id: str
    run_id: str
    #: When the last order for it was sent (its ``started`` line): until the order list's lag
    #: has passed since then, apply waits for it rather than ordering (``applying.orderlag``).
    sent_at: datetime | None = None


def pending_creates(records: Sequence[Record]) -> dict[tuple[str, str], Pending]:
    """Creates per (customer, manifest key) whose outcome no run recorded."""
    last: dict[tuple[str, str], Record] = {}
    sent: dict[tuple[str, str], str] = {}
    for r in records:
        if r.get("action") == actions.Action.CREATE and r.get("key"):
            k = (str(r.get("customer_id")), str(r["key"]))
            last[k] = r
            if r.get("phase") == Phase.STARTED:
                sent[k] = r["ts"]
    out: dict[tuple[str, str], Pending] = {}
    for k, r in last.items():
        if r.get("phase") in OPEN:
            after = r.get("after") or {}
            out[k] = Pending(
                k[0],
                k[1],
                str(after.get("friendly_name", "")),
                str(r.get("request_id")),
                r["run_id"],
                _moment(sent.get(k)),
            )
    return out


def _moment(ts: str | None) -> datetime | None:
    """A journal ``ts`` as an aware datetime (None when absent or unreadable)."""
    try:
        return datetime.fromisoformat(ts) if ts else None
    except ValueError:
        return None


def requested_transfers(records: Sequence[Record]) -> dict[str, tuple[str, str]]:
    """Source subscription id -> (run id, ts) of the last transfer request that succeeded.

    Apply's second guard against asking the source partner twice (the first is the live
    transfer list, read right before the request): it covers a request Partner Center does
    not list yet (applying.transfers.journal_blocks)."""
    out: dict[str, tuple[str, str]] = {}
    for r in records:
        if r.get("action") == actions.Action.TRANSFER and r.get("phase") == Phase.SUCCEEDED:
            out[str(r.get("subscription_id"))] = (str(r.get("run_id")), str(r.get("ts")))
    return out


def unaccounted(records: Sequence[Record]) -> list[Record]:
    """``started`` events with no later event of the same step in the same run."""
    open_: dict[tuple[str, str], Record] = {}
    for r in records:
        k = (str(r.get("run_id")), str(r.get("step")))
        if r.get("phase") == Phase.STARTED:
            open_[k] = r
        else:
            open_.pop(k, None)
    return list(open_.values())


# ----------------------------------------------------------------------------- applied plans


def _applied_path(state_dir: Path) -> Path:
    return state_dir / "applied-plans.jsonl"


def applied_run(state_dir: Path, pid: str) -> str | None:
    """The run id that applied plan ``pid``, or None when it was never applied."""
    path = _applied_path(state_dir)
    if not path.exists():
        return None
    data = files.read_bounded(
        path,
        cap=files.MAX_JOURNAL_BYTES,
        what="the record of applied plans",
        hint="Move it aside; a plan applied before is then refused only by its staleness.",
        error=errors.JournalError,
    )
    for line in data.splitlines():
        try:
            doc = files.json_loads(line.decode("utf-8"))
        except ValueError:
            continue  # a torn or edited line names no plan
        if isinstance(doc, dict) and doc.get("plan_id") == pid:
            return str(doc.get("run_id"))
    return None


def mark_applied(state_dir: Path, pid: str, run_id: str, at: datetime) -> None:
    """Record that plan ``pid`` was applied by ``run_id`` (appended and fsync'ed)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(_applied_path(state_dir), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, _dump({"plan_id": pid, "run_id": run_id, "at": at.isoformat()}).encode())
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------ export


def _row(r: Record) -> dict[str, Any]:
    before = r.get("before") or {}
    after = r.get("after") or {}
    result = r.get("result") or {}
    fields = cast(Mapping[str, Any], r)
    row = {c: fields.get(c, "") for c in EXPORT_COLUMNS}
    row.update(
        subscription_id=r.get("subscription_id") or result.get("subscription_id") or "",
        order_id=result.get("order_id") or "",
        before_status=before.get("status", ""),
        after_status=after.get("status", ""),
        before_quantity=before.get("quantity", ""),
        after_quantity=after.get("quantity", ""),
    )
    return {k: ("" if v is None else v) for k, v in row.items()}


def export_rows(
    records: Sequence[Record], *, customers: Sequence[str] = ()
) -> Iterator[dict[str, Any]]:
    """Flat rows (``EXPORT_COLUMNS``), by customer then time, optionally for some customers
    (tenant ids or names, case-insensitive)."""
    wanted = {c.lower() for c in customers}
    chosen = [
        r
        for r in records
        if not wanted
        or str(r.get("customer_id", "")).lower() in wanted
        or str(r.get("customer_name", "")).lower() in wanted
    ]
    chosen.sort(
        key=lambda r: (str(r.get("customer_name", "")), str(r.get("customer_id", "")), r["ts"])
    )
    for r in chosen:
        yield _row(r)


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as CSV with a header line."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:  # a name like "=cmd|..." must not run as a formula in a spreadsheet
        writer.writerow({k: escaping.csv_cell(v) for k, v in row.items()})
    return buf.getvalue()


def to_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as a JSON document grouped per customer."""
    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = grouped.setdefault(
            str(row["customer_id"]),
            {
                "customer_id": row["customer_id"],
                "customer_name": row["customer_name"],
                "events": [],
            },
        )
        entry["events"].append(
            {k: v for k, v in row.items() if k not in ("customer_id", "customer_name")}
        )
    return (
        json.dumps(
            {"format": "reconciler-journal-export/1", "customers": list(grouped.values())}, indent=2
        )
        + "\n"
    )
