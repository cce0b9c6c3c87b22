"""One writer per target tenant: a lock file under ``<lock dir>/locks/<tenant>.json`` that
says who holds it (user, host, CI run, pid, since, plan id) and expires when its holder died
(pid gone on the same host) or its TTL passed. ``unlock`` removes a lock by id for the rest.

Check-and-take happens under a guard (``filelock``: ``flock`` on POSIX, ``msvcrt`` locking on
Windows, an exclusive-create file where neither exists) so two starting applies cannot both
win; whether a holder's pid is alive is asked through ``psutil`` on every platform. ``apply``
passes the machine's lock directory (``operations.statedir.lock_dir``), so the lock holds for
every apply on the machine whatever its state directory; CI runners on different machines use
the shared state backend (``blobstate``, a blob lease) or serialise applies themselves. This
module must NOT decide anything about the plan.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import psutil

from reconciler import errors, files

with warnings.catch_warnings():
    # Without fcntl filelock falls back to an exclusive-create lock file and warns on import;
    # that is fine for the guard, which is held for microseconds and times out (see _guard).
    warnings.filterwarnings("ignore", message="only soft file lock is available")
    import filelock

#: CI variables that identify a pipeline run, first found wins.
CI_VARIABLES = ("GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILD_BUILDID", "CIRCLE_WORKFLOW_ID")
DEFAULT_TTL = timedelta(hours=4)
#: Longest wait for the check-and-take guard (held for microseconds by a live process).
GUARD_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds the lock of ``tenant`` and until when at the latest."""

    id: str
    tenant: str
    user: str
    host: str
    pid: int
    ci_run: str
    since: str
    expires_at: str
    plan_id: str
    #: Only in the shared (blob) lock: the run's id once it started, the CI job's URL.
    run_id: str = ""
    ci_url: str = ""

    def describe(self) -> str:
        """``lock 1a2b (alice@host, pid 4312, CI run 99, since ..., plan ...)``."""
        ci = f", CI run {self.ci_run}" if self.ci_run else ""
        run = f", run {self.run_id}" if self.run_id else ""
        url = f", {self.ci_url}" if self.ci_url else ""
        return (
            f"lock {self.id} ({self.user}@{self.host}, pid {self.pid}{ci}, since {self.since}, "
            f"plan {self.plan_id or '-'}{run}{url})"
        )

    def document(self) -> dict[str, object]:
        """The lock file's JSON object (the shared-lock fields only when set, so a local lock
        file stays readable by versions that do not know them)."""
        doc = asdict(self)
        for name in _OPTIONAL:
            if not doc[name]:
                del doc[name]
        return doc


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists on this host (on Windows too, where the POSIX
    idiom ``os.kill(pid, 0)`` would terminate it)."""
    return bool(psutil.pid_exists(pid))


def is_stale(
    info: LockInfo, *, now: datetime, host: str, alive: Callable[[int], bool] = pid_alive
) -> bool:
    """True when the holder is gone: its pid died on this host, or the lock expired."""
    if datetime.fromisoformat(info.expires_at) <= now:
        return True
    return info.host == host and not alive(info.pid)


def _locks(state_dir: Path) -> Path:
    d = state_dir / "locks"
    d.mkdir(parents=True, exist_ok=True)
    return d


@contextlib.contextmanager
def _guard(state_dir: Path, *, timeout: float = GUARD_TIMEOUT) -> Iterator[None]:
    """Exclusive access to the lock files of ``state_dir`` for one check-and-take."""
    path = _locks(state_dir) / ".guard"
    guard = filelock.FileLock(path, timeout=timeout)
    try:
        guard.acquire()
    except filelock.Timeout:
        raise errors.LockHeldError(
            f"The lock directory {path.parent} stayed busy for {timeout:g}s: another apply "
            f"is taking or releasing a lock there. Retry; if no apply is running, delete {path} "
            "(a process killed while holding it leaves it behind where the system has no file "
            "locking)."
        ) from None
    try:
        yield
    finally:
        guard.release()


def _read(path: Path) -> LockInfo | None:
    """What the lock file at ``path`` says, or None when there is none.

    A file that cannot be fully understood (not JSON, a field missing, unknown or of the wrong
    type) is never read as "expired": what can be read of its holder (host, pid, expiry) is
    kept, and whatever is missing counts as "may still be alive". Such a lock expires
    ``DEFAULT_TTL`` after the file was last written, or by ``reconciler unlock``."""
    try:
        data = files.read_bounded(
            path,
            cap=files.MAX_LOCK_BYTES,
            what="the apply lock",
            hint=f"Check that no apply is running, then delete {path}.",
            error=errors.LockHeldError,
        )
    except FileNotFoundError:
        return None
    try:
        doc = files.json_loads(data.decode("utf-8"))
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        with contextlib.suppress(TypeError, ValueError):
            info = LockInfo(**doc)
            understood = all(isinstance(getattr(info, f), str) for f in _TEXT + _OPTIONAL)
            if understood and _pid(info.pid) and _aware(info.expires_at):
                return info
    return _partial(path, doc if isinstance(doc, dict) else {})


_TEXT = ("id", "tenant", "user", "host", "ci_run", "since", "expires_at", "plan_id")
_OPTIONAL = ("run_id", "ci_url")


def _aware(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def _pid(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _partial(path: Path, doc: Mapping[str, object]) -> LockInfo:
    """A lock file only partly understood, as a ``LockInfo`` that is never stale early: an
    unknown host is nobody's (so the pid is not asked about), an unreadable expiry is the
    file's last write plus ``DEFAULT_TTL``."""

    def text(name: str, default: str) -> str:
        value = doc.get(name)
        return value if isinstance(value, str) and value else default

    try:
        written = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    except OSError:
        written = datetime.now().astimezone()
    expires = text("expires_at", "")
    if not _aware(expires):
        expires = (written + DEFAULT_TTL).isoformat(timespec="seconds")
    pid = _pid(doc.get("pid"))
    host = text("host", "") if pid is not None else ""
    return LockInfo(
        id=text("id", "unreadable"),
        tenant=path.stem,
        user=text("user", "?"),
        # An empty host never equals this host: the pid of an unknown holder is not asked
        # about, so the lock is held until it expires (or is unlocked).
        host=host or "an unknown host",
        pid=pid or 0,
        ci_run=text("ci_run", ""),
        since=text("since", written.isoformat(timespec="seconds")),
        expires_at=expires,
        plan_id=text("plan_id", ""),
    )


def _write(path: Path, info: LockInfo) -> None:
    files.write_text(
        path,
        json.dumps(info.document(), indent=2) + "\n",
        what="the apply lock",
        hint="Check that the lock directory (RECONCILER_LOCK_DIR) is writable; nothing was "
        "applied.",
    )


class Lock:
    """A held lock; ``release`` it when done (or use ``acquire`` as a context manager)."""

    def __init__(self, state_dir: Path, info: LockInfo) -> None:
        self.state_dir = state_dir
        self.info = info
        self.path = _locks(state_dir) / f"{info.tenant}.json"

    def release(self) -> None:
        """Remove the lock file if it is still ours."""
        with _guard(self.state_dir):
            current = _read(self.path)
            if current is not None and current.id == self.info.id:
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def ci_job_url(environ: Mapping[str, str]) -> str:
    """The URL of the CI job this process runs in (GitHub Actions, Azure Pipelines), or ""."""
    run = environ.get("GITHUB_RUN_ID", "")
    server, repo = environ.get("GITHUB_SERVER_URL", ""), environ.get("GITHUB_REPOSITORY", "")
    if run and server and repo:
        return f"{server.rstrip('/')}/{repo}/actions/runs/{run}"
    build = environ.get("BUILD_BUILDID", "")
    collection = environ.get("SYSTEM_COLLECTIONURI", "")
    project = environ.get("SYSTEM_TEAMPROJECT", "")
    if build and collection and project:
        return f"{collection.rstrip('/')}/{project}/_build/results?buildId={build}"
    return ""


def parse_info(data: bytes) -> LockInfo | None:
    """A lock document (``LockInfo.document``) read back, or None when it is not one."""
    try:
        doc = files.json_loads(data.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    try:
        info = LockInfo(**doc)
    except TypeError:
        return None
    fine = all(isinstance(getattr(info, f), str) for f in _TEXT + _OPTIONAL)
    return info if fine and _pid(info.pid) else None


def holder(
    *, tenant: str, plan_id: str, now: datetime, ttl: timedelta, environ: Mapping[str, str]
) -> LockInfo:
    """A ``LockInfo`` describing this process as the holder."""
    ci = next((f"{v}={environ[v]}" for v in CI_VARIABLES if environ.get(v)), "")
    try:
        user = getpass.getuser()
    except (KeyError, OSError, ImportError):  # no passwd entry (a container); no pwd (Windows)
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return LockInfo(
        id=uuid.uuid4().hex[:12],
        tenant=tenant,
        user=user,
        host=socket.gethostname(),
        pid=os.getpid(),
        ci_run=ci,
        since=now.isoformat(timespec="seconds"),
        expires_at=(now + ttl).isoformat(timespec="seconds"),
        plan_id=plan_id,
    )


def acquire(
    state_dir: Path,
    me: LockInfo,
    *,
    timeout: float,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
    on_wait: Callable[[LockInfo], None] = lambda info: None,
    alive: Callable[[int], bool] = pid_alive,
) -> Lock:
    """Take the lock of ``me.tenant``, waiting up to ``timeout`` seconds for its holder;
    raise ``LockHeldError`` naming the holder when it is still held then."""
    path = _locks(state_dir) / f"{me.tenant}.json"
    start = now()
    told = False
    while True:
        with _guard(state_dir):
            current = _read(path)
            if current is None or is_stale(current, now=now(), host=me.host, alive=alive):
                _write(path, me)
                return Lock(state_dir, me)
        waited = (now() - start).total_seconds()
        if waited >= timeout:
            raise errors.LockHeldError(
                f"The target tenant '{me.tenant}' is locked by another apply: "
                f"{current.describe()}. Wait for it to finish (or pass a longer --lock-timeout); "
                f"if its holder is gone, run `reconciler unlock {current.id}`."
            )
        if not told:
            on_wait(current)
            told = True
        sleep(min(1.0, max(0.05, timeout - waited)))


def unlock(state_dir: Path, lock_id: str) -> LockInfo:
    """Remove the lock with ``lock_id`` (whoever holds it) and return what it said."""
    with _guard(state_dir):
        for path in sorted(_locks(state_dir).glob("*.json")):
            info = _read(path)
            if info is not None and info.id == lock_id:
                path.unlink(missing_ok=True)
                return info
    raise errors.UsageError(
        f"No lock with id {lock_id!r} in {state_dir / 'locks'}; "
        "`reconciler unlock` takes the id printed by the apply that was refused."
    )


def extend(lock: Lock, *, now: datetime, ttl: timedelta) -> None:
    """Push the lock's expiry to ``now + ttl`` (long runs call this before the first write
    and between steps); raise ``LockHeldError`` when the lock is no longer ours (it expired
    and another apply took it, or it was unlocked): two applies must never write at once."""
    with _guard(lock.state_dir):
        current = _read(lock.path)
        if current is None or current.id != lock.info.id:
            holder = current.describe() if current is not None else "nobody (it was unlocked)"
            raise errors.LockHeldError(
                f"This apply's lock {lock.info.id} on target tenant '{lock.info.tenant}' was "
                f"taken over while it ran (it expired at {lock.info.expires_at}); it is now "
                f"held by {holder}. This run stops before its next write; check the journal, "
                "then run `reconciler plan` once the other apply is done."
            )
        lock.info = replace(lock.info, expires_at=(now + ttl).isoformat(timespec="seconds"))
        _write(lock.path, lock.info)
