"""Two working copies sharing an Azurite-backed lock and journal (issue 11's acceptance): each
has its own state directory AND its own machine lock directory, so only the blob lease
excludes them. The second waits, naming the holder; the emulator ends with no duplicate; the
container holds both runs' journals and `journal export` lists them. A held lease with
--lock-timeout 0 is refused naming the holder, before any write."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler import settings
from reconciler.applying import blobconfig, blobstate, locking
from reconciler.emulator.server import Emulator
from reconciler.planning import markers

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = [f"3f2c6d55-0000-4000-8000-00000000c00{i}" for i in range(1, 7)]
TARGET = "0f6a1b8e-0000-4000-8000-000000000001"


def _shared_env(azurite, url: str, lock_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RECONCILER_LOCK_DIR": str(lock_dir),
        settings.ENV_STATE_BACKEND: "azure",
        settings.ENV_STATE_CONTAINER_URL: url,
        settings.ENV_STATE_CONNECTION_STRING: azurite.connection_string,
    }


def _apply(emu: Emulator, state: Path, env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "apply",
            "manifests",
            "--auto-approve",
            "--connection",
            str(emu.connection_file),
            "--state-dir",
            str(state),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _marked(emu: Emulator) -> Counter:
    return Counter(
        (s["customerId"], markers.parse_marker(s.get("friendlyName") or ""))
        for s in emu.control.snapshot()["subscriptions"]
        if s["partner"] == "central" and s["status"] != "deleted"
    )


def test_two_working_copies_share_the_lease_and_the_journal(
    azurite, tmp_path: Path, sign_in_user
) -> None:
    url = azurite.new_container()
    with Emulator.start(state_dir=tmp_path / "emu") as emu:
        for cid in CUSTOMERS:
            emu.control.accept_invitation(cid, "central")
        # Overlapping customer sets: whichever goes second still has work of its own, and
        # finds the overlap done (a duplicate would show in the emulator).
        sets = {"copy-a": CUSTOMERS[:4], "copy-b": CUSTOMERS[2:]}
        envs = {}
        for name in sets:
            env = _shared_env(azurite, url, tmp_path / name / "machine-locks")
            env["RECONCILER_TOKEN_CACHE_DIR"] = str(tmp_path / name / "tokens")
            sign_in_user(emu, environ=env)  # each runner's `reconciler login central`
            envs[name] = env
        runs = {
            name: _apply(
                emu,
                tmp_path / name / ".reconciler",
                envs[name],
                "--lock-timeout",
                "300",
                *(arg for cid in chosen for arg in ("--customer", cid)),
            )
            for name, chosen in sets.items()
        }
        outputs = {name: p.communicate(timeout=600) for name, p in runs.items()}
        for name, p in runs.items():
            out, err = outputs[name]
            assert p.returncode in (0, 3), out + err
        waited = [name for name, (out, err) in outputs.items() if "Waiting for lock" in err]
        assert len(waited) == 1, outputs
        holder = "copy-b" if waited == ["copy-a"] else "copy-a"
        # The waiter was told who holds the lease: the other process, by pid.
        assert f"pid {runs[holder].pid}" in outputs[waited[0]][1], outputs
        marked = _marked(emu)
        duplicates = {k: n for k, n in marked.items() if k[1] is not None and n > 1}
        assert duplicates == {}
        assert sum(1 for k in marked if k[1] is not None) >= 6
    run_ids = {name: re.search(r"as run (\S+)", out).group(1) for name, (out, _) in outputs.items()}
    for name, (out, _) in outputs.items():  # each run says where its shared journal is
        assert f"and {url}/journal/{TARGET}/{run_ids[name]}.jsonl)" in out, out
    # Both runs' journals are in the container, under the target tenant.
    store = blobstate.Store.open(
        blobconfig.Config(url, {"account_name": "devstoreaccount1", "account_key": _key()}, "x")
    )
    names = sorted(b.name for b in store.client.list_blobs(name_starts_with="journal/"))
    assert names == sorted(f"journal/{TARGET}/{r}.jsonl" for r in run_ids.values())
    # `journal export` from a third, empty working copy lists both runs.
    export = subprocess.run(
        [sys.executable, "-m", "reconciler", "journal", "export", "--format", "json"],
        cwd=tmp_path,
        env=_shared_env(azurite, url, tmp_path / "third-locks"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert export.returncode == 0, export.stdout + export.stderr
    doc = json.loads(export.stdout)
    exported = {e["run_id"] for c in doc["customers"] for e in c["events"]}
    assert exported == set(run_ids.values())


def _key() -> str:
    from azurite_server import KEY

    return KEY


def test_a_held_lease_refuses_apply_naming_the_holder_before_any_write(
    azurite, tmp_path: Path, run_cli, monkeypatch
) -> None:
    url = azurite.new_container()
    store = blobstate.Store.open(
        blobconfig.Config(url, {"account_name": "devstoreaccount1", "account_key": _key()}, "x")
    )
    now = datetime.now(UTC)
    other = locking.LockInfo(
        id="0badc0ffee00",
        tenant=TARGET,
        user="carol",
        host="ci-runner-17",
        pid=4242,
        ci_run="GITHUB_RUN_ID=555",
        since=now.isoformat(timespec="seconds"),
        expires_at=(now + timedelta(minutes=1)).isoformat(timespec="seconds"),
        plan_id="fresh",
        ci_url="https://github.com/contoso/csp/actions/runs/555",
    )
    held = blobstate.acquire(
        store, other, timeout=0, now=lambda: datetime.now(UTC), sleep=time.sleep
    )
    monkeypatch.chdir(ROOT)
    for name, value in _shared_env(azurite, url, tmp_path / "locks").items():
        if name.startswith("RECONCILER_"):
            monkeypatch.setenv(name, value)
    try:
        with Emulator.start(state_dir=tmp_path / "emu") as emu:
            emu.control.accept_invitation(CUSTOMERS[0], "central")
            before = len(emu.control.snapshot()["subscriptions"])
            result = run_cli(
                "apply",
                "manifests",
                "--auto-approve",
                "--connection",
                str(emu.connection_file),
                "--state-dir",
                str(tmp_path / "state"),
            )
            after = len(emu.control.snapshot()["subscriptions"])
    finally:
        held.release()
    assert result.code == 1, result.output
    assert "Traceback" not in result.output
    for part in (
        f"The target tenant '{TARGET}' is locked by another apply through the shared state "
        f"container {url}",
        "carol@ci-runner-17, pid 4242, CI run GITHUB_RUN_ID=555",
        "https://github.com/contoso/csp/actions/runs/555",
    ):
        assert part in result.err, result.err
    assert after == before  # nothing was ordered
    assert not (tmp_path / "state" / "journal").exists()


def test_a_wrong_key_stops_apply_in_one_paragraph(azurite, tmp_path: Path, run_cli, monkeypatch):
    url = azurite.new_container()
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(settings.ENV_STATE_BACKEND, "azure")
    monkeypatch.setenv(settings.ENV_STATE_CONTAINER_URL, url)
    monkeypatch.setenv(settings.ENV_STATE_ACCOUNT_KEY, "d3Jvbmcga2V5")
    result = run_cli("journal", "export", "--state-dir", str(tmp_path / "s"))
    assert result.code == 1
    assert "Traceback" not in result.output and "d3Jvbmcga2V5" not in result.output
    assert (
        f"refused the credential from RECONCILER_STATE_ACCOUNT_KEY for the state container {url}"
        in result.err
    )


def test_a_saved_plan_applied_on_one_runner_is_refused_on_another(
    azurite, tmp_path: Path, run_cli, monkeypatch, sign_in_user
) -> None:
    url = azurite.new_container()
    monkeypatch.chdir(ROOT)
    for name, value in _shared_env(azurite, url, tmp_path / "locks").items():
        if name.startswith("RECONCILER_"):
            monkeypatch.setenv(name, value)
    with Emulator.start(state_dir=tmp_path / "emu") as emu:
        emu.control.accept_invitation(CUSTOMERS[0], "central")
        sign_in_user(emu)  # `reconciler login central`: agreements need App+User
        conn = str(emu.connection_file)
        plan = tmp_path / "plan.json"
        made = run_cli("plan", "manifests", "--connection", conn, "--out", str(plan))
        assert made.code in (0, 2), made.output
        args = ("apply", str(plan), "--connection", conn, "--auto-approve", "--state-dir")
        first = run_cli(*args, str(tmp_path / "runner-1"))
        assert first.code in (0, 3), first.output
        run_id = re.search(r"as run (\S+)", first.out).group(1)
        # Another runner, with an empty state directory: the container remembers the plan.
        again = run_cli(*args, str(tmp_path / "runner-2"))
    assert again.code == 1, again.output
    assert f"was already applied by run {run_id}" in again.err, again.err
