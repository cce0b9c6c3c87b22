"""The shared state backend against Azurite: the blob-lease lock (renewal past the lease's
duration, a lost lease detected before the next write, the holder named), the append-blob
journal read back for recovery, and one-paragraph errors for a wrong key, a missing
container and an unreachable account."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.storage.blob import BlobLeaseClient
from azurite_server import ACCOUNT, KEY

from reconciler import errors, settings
from reconciler.applying import blobconfig, blobstate, journal, locking
from reconciler.operations import apply as apply_op

TENANT = "0f6a1b8e-0000-4000-8000-000000000001"


def _config(url: str, **env: str) -> blobconfig.Config:
    environ = {
        settings.ENV_STATE_BACKEND: "azure",
        settings.ENV_STATE_CONTAINER_URL: url,
        **env,
    }
    config = blobconfig.configure(environ)
    assert config is not None
    return config


def _store(azurite, url: str | None = None) -> blobstate.Store:
    return blobstate.Store.open(
        _config(
            url or azurite.new_container(),
            **{settings.ENV_STATE_CONNECTION_STRING: azurite.connection_string},
        )
    )


def _me(user: str, pid: int, **kw: str) -> locking.LockInfo:
    now = datetime.now(UTC)
    return locking.LockInfo(
        id=f"id-{user}",
        tenant=TENANT,
        user=user,
        host=f"runner-{user}",
        pid=pid,
        ci_run=kw.pop("ci_run", ""),
        since=now.isoformat(timespec="seconds"),
        expires_at=(now + timedelta(hours=4)).isoformat(timespec="seconds"),
        plan_id="plan-1",
        **kw,
    )


def _acquire(store: blobstate.Store, me: locking.LockInfo, **kw) -> blobstate.BlobLock:
    kw.setdefault("timeout", 0)
    return blobstate.acquire(store, me, now=lambda: datetime.now(UTC), sleep=time.sleep, **kw)


def test_the_lease_is_renewed_past_its_duration_and_the_waiter_is_told_who_holds_it(azurite):
    store = _store(azurite)
    first = _acquire(
        store,
        _me(
            "alice",
            4312,
            ci_run="GITHUB_RUN_ID=99",
            ci_url="https://github.com/o/r/actions/runs/99",
        ),
        duration=15,
        renew_every=3,
    )
    try:
        first.note_run("20261202T040000Z-abcd1234")
        time.sleep(17)  # longer than the lease: only the renewals keep it
        first.check()
        seen: list[locking.LockInfo] = []
        with pytest.raises(errors.LockHeldError) as refused:
            _acquire(store, _me("bob", 777), timeout=1.5, on_wait=seen.append)
        message = str(refused.value)
        for part in (
            "alice@runner-alice",
            "pid 4312",
            "CI run GITHUB_RUN_ID=99",
            "https://github.com/o/r/actions/runs/99",
            "run 20261202T040000Z-abcd1234",
            store.shown,
        ):
            assert part in message, message
        assert [s.user for s in seen] == ["alice"]  # told once while waiting
    finally:
        first.release()
    # Released, and the holder's name cleared (a waiter never names a holder that is gone):
    # the next apply takes it at once.
    assert blobstate.holder_of(store, TENANT) is None
    second = _acquire(store, _me("bob", 777))
    assert blobstate.holder_of(store, TENANT).user == "bob"
    second.release()


def test_a_lost_lease_stops_the_run_before_its_next_journal_line(azurite, tmp_path: Path):
    store = _store(azurite)
    held = _acquire(store, _me("alice", 4312), duration=15, renew_every=0.2)
    blob = store.run_journal(TENANT, "20261202T040000Z-lost0001")
    log = journal.Journal(
        tmp_path, "20261202T040000Z-lost0001", "plan-1", mirror=apply_op._mirror(held, blob)
    )
    try:
        log.append(ts=datetime.now(UTC), step="c1", phase=journal.Phase.STARTED)
        # Someone breaks the lease (an operator, or the lease expired and another apply took it).
        BlobLeaseClient(held.blob).break_lease(lease_break_period=0)
        deadline = time.monotonic() + 10
        while held.lost is None and time.monotonic() < deadline:
            time.sleep(0.1)
        # The outcome of the write already sent is kept locally, then the run stops ...
        with pytest.raises(errors.LockLostError):
            log.append(ts=datetime.now(UTC), step="c1", phase=journal.Phase.SUCCEEDED)
        # ... and the line announcing the next write is written nowhere.
        with pytest.raises(errors.LockLostError) as lost:
            log.append(ts=datetime.now(UTC), step="c2", phase=journal.Phase.STARTED)
    finally:
        log.close()
        held.release()
    message = str(lost.value)
    assert "was lost" in message and "stops before its next write" in message, message
    assert "LeaseIsBrokenAndCannotBeRenewed" in message or "HTTP 409" in message, message
    local = [(r["step"], r["phase"]) for r in journal.read_records(tmp_path)]
    assert local == [("c1", journal.Phase.STARTED), ("c1", journal.Phase.SUCCEEDED)]
    assert [r["step"] for r in store.read_records(TENANT)] == ["c1"]


def test_a_crashed_runs_open_create_is_seen_by_another_working_copy(azurite, tmp_path: Path):
    store = _store(azurite)
    blob = store.run_journal(TENANT, "20261202T040000Z-crash001")
    runner_a = journal.Journal(
        tmp_path / "a", "20261202T040000Z-crash001", "plan-1", mirror=blob.append
    )
    runner_a.append(
        ts=datetime.now(UTC),
        step="c1",
        action="create",
        customer_id="cust-1",
        key="exchange",
        request_id="req-1",
        phase=journal.Phase.STARTED,
        after={"friendly_name": "Exchange [rc:exchange]"},
    )
    runner_a.close()
    blob.append(b'{"ts": "torn')  # the runner died mid-line
    # Working copy B has nothing locally; the shared journal tells it about A's create.
    records = journal.merge(store.read_records(TENANT), journal.read_records(tmp_path / "b"))
    pending = journal.pending_creates(records)
    assert list(pending) == [("cust-1", "exchange")]
    assert pending[("cust-1", "exchange")].run_id == "20261202T040000Z-crash001"
    # Applied plans are shared too.
    store.mark_applied("plan-1", "20261202T040000Z-crash001", datetime.now(UTC))
    assert store.applied_run("plan-1") == "20261202T040000Z-crash001"
    assert store.applied_run("plan-2") is None


def test_a_wrong_key_is_one_paragraph_naming_the_container_without_the_key(azurite):
    url = azurite.new_container()
    wrong = KEY[:-8] + "AAAAAAA="
    with pytest.raises(errors.StateBackendError) as refused:
        blobstate.Store.open(_config(url, **{settings.ENV_STATE_ACCOUNT_KEY: wrong}))
    message = str(refused.value)
    assert "refused the credential from RECONCILER_STATE_ACCOUNT_KEY" in message, message
    assert url in message and wrong not in message and "\n" not in message


def test_a_missing_container_is_named(azurite):
    url = azurite.new_container(create=False)
    with pytest.raises(errors.StateBackendError) as missing:
        _store(azurite, url)
    assert f"The state container {url} does not exist" in str(missing.value)


def test_an_unreachable_account_is_named_after_bounded_retries():
    config = blobconfig.Config(
        "http://127.0.0.1:9/devstoreaccount1/state",
        {"account_name": ACCOUNT, "account_key": KEY},
        "RECONCILER_STATE_ACCOUNT_KEY",
        retries=1,
        backoff=0,
    )
    started = time.monotonic()
    with pytest.raises(errors.StateBackendError) as unreachable:
        blobstate.Store.open(config)
    assert time.monotonic() - started < 30
    message = str(unreachable.value)
    assert message.startswith(
        "Cannot reach the state container http://127.0.0.1:9/devstoreaccount1/state"
    ), message


def test_a_sas_in_the_container_url_is_never_shown(azurite):
    url = azurite.new_container() + "?sv=2024-01-01&sp=racwdl&sig=SECRETSIGNATURE"
    config = _config(url)
    assert config.credential is None and "SECRETSIGNATURE" not in config.shown
    with pytest.raises(errors.StateBackendError) as refused:
        blobstate.Store.open(config)  # Azurite does not accept this made-up signature
    assert "SECRETSIGNATURE" not in str(refused.value)
    assert "?[redacted]" in str(refused.value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({settings.ENV_STATE_BACKEND: "s3"}, "State backend 's3' is not one of local, azure"),
        ({settings.ENV_STATE_BACKEND: "azure"}, "needs the URL of a blob container"),
        (
            {
                settings.ENV_STATE_BACKEND: "azure",
                settings.ENV_STATE_CONTAINER_URL: "http://example.com/c",
                settings.ENV_STATE_ACCOUNT_KEY: "k",
            },
            "must use https://",
        ),
        (
            {
                settings.ENV_STATE_BACKEND: "azure",
                settings.ENV_STATE_CONTAINER_URL: "https://acct.blob.core.windows.net/a/b",
                settings.ENV_STATE_ACCOUNT_KEY: "k",
            },
            "does not name one container",
        ),
        (
            {
                settings.ENV_STATE_BACKEND: "azure",
                settings.ENV_STATE_CONTAINER_URL: "https://acct.blob.core.windows.net/c",
            },
            "No credential for the state container https://acct.blob.core.windows.net/c",
        ),
    ],
)
def test_configuration_mistakes_are_refused_before_anything_is_read(env, expected):
    with pytest.raises(errors.ReconcilerError) as refused:
        blobconfig.configure(env)
    assert expected in str(refused.value)


def test_local_is_the_default_and_the_account_comes_from_the_host():
    assert blobconfig.configure({}) is None
    config = blobconfig.configure(
        {
            settings.ENV_STATE_BACKEND: "azure",
            settings.ENV_STATE_CONTAINER_URL: "https://contoso.blob.core.windows.net/reconciler",
            settings.ENV_STATE_ACCOUNT_KEY: "a2V5",
        }
    )
    assert config is not None
    assert config.credential == {"account_name": "contoso", "account_key": "a2V5"}
    assert config.container == "reconciler"


def test_local_state_never_loads_the_azure_sdk(tmp_path: Path):
    # Start-up stays fast: with the default backend neither `apply --help` nor a real
    # `journal export` imports azure.
    code = (
        "import sys\n"
        "from reconciler.cli import main\n"
        "for argv in (['apply', '--help'], ['journal', 'export', '--state-dir', sys.argv[1]]):\n"
        "    try:\n"
        "        main.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('azure loaded' if any(m.split('.')[0] == 'azure' for m in sys.modules) else 'no azure')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_STATE")},
    )
    assert done.stdout.strip().endswith("no azure"), done.stdout + done.stderr
    assert "Carry out a plan" in done.stdout  # the help was really printed
