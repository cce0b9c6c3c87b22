"""Chaos: 200 customers, a few percent of requests faulted (503, resets, 429, writes committed
then dropped) and ``reconciler apply`` SIGKILLed at random points several times. Re-running
until it converges must end at the manifests' state with no duplicate subscription, no
suspension before its target was active, and every write the emulator saw in some journal.
Everything is checked against the emulator's own history and snapshot."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from reconciler import manifests
from reconciler.applying import journal
from reconciler.emulator import worldgen
from reconciler.emulator.server import Emulator
from reconciler.planning import markers

pytestmark = pytest.mark.slow

CUSTOMERS = 200
FAULTS = [
    {"kind": "error", "status": 503, "probability": 0.02},
    {"kind": "reset", "probability": 0.01},
    {"kind": "throttle", "probability": 0.01, "retryAfter": 1},
    {"kind": "drop_after_commit", "method": "POST", "probability": 0.05},
    {"kind": "drop_after_commit", "method": "PATCH", "probability": 0.05},
]


def _journal_lines(state: Path) -> int:
    """Writes started so far: killing right after one lands between "sent" and "recorded"."""
    return sum(
        p.read_bytes().count(b'"phase":"started"') for p in (state / "journal").glob("*.jsonl")
    )


def _apply(cmd: list[str], env: dict[str, str], log: Path, kill_after: int | None) -> int | None:
    """Run apply; with ``kill_after``, SIGKILL it once that many more writes were started."""
    state = Path(cmd[cmd.index("--state-dir") + 1])
    start = _journal_lines(state) if (state / "journal").exists() else 0
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        while kill_after is not None and proc.poll() is None:
            grown = _journal_lines(state) - start if (state / "journal").exists() else 0
            if grown >= kill_after:
                proc.kill()
                proc.wait()
                return None
            time.sleep(0.005)
        return proc.wait(timeout=600)


def _pairs(mdir: Path) -> dict[str, tuple[str, str, int]]:
    """Source subscription id -> (customer id, manifest key, seats the key needs)."""
    state = manifests.load([mdir])
    return {
        r.subscription_id: (c.tenant_id, ds.key, ds.quantity)
        for c in state.customers
        for ds in c.subscriptions
        for r in ds.replaces
    }


def _check_world(emu: Emulator, mdir: Path, state: Path) -> None:
    snap, history = emu.control.snapshot(), emu.control.history()
    pairs = _pairs(mdir)
    wanted = {(cid, key) for cid, key, _ in pairs.values()}
    targets: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for s in snap["subscriptions"]:
        key = markers.parse_marker(s.get("friendlyName"))
        if s["partner"] == "central" and key and s["status"] != "deleted":
            targets[(s["customerId"], key)].append(s)
    duplicates = {k: len(v) for k, v in targets.items() if len(v) > 1}
    assert duplicates == {}, f"duplicate target subscriptions: {duplicates}"
    assert wanted <= set(targets), f"missing targets: {sorted(wanted - set(targets))[:5]}"
    assert all(targets[k][0]["status"] == "active" for k in wanted)
    activated: dict[str, str] = {}
    for e in history:
        if (e["changes"].get("status") or [None, None])[1] == "active":
            activated.setdefault(e["subscriptionId"], e["time"])
    stopped = 0
    for e in history:
        new = (e["changes"].get("status") or [None, None])[1]
        if e["origin"] != "api" or new not in ("suspended", "deleted"):
            continue
        cid, key, seats = pairs[e["subscriptionId"]]
        (target,) = targets[(cid, key)]
        assert target["id"] in activated, f"{e['subscriptionId']} stopped, target never active"
        assert activated[target["id"]] <= e["time"], f"{e['subscriptionId']} stopped too early"
        assert target["quantity"] >= seats
        stopped += 1
    assert stopped >= CUSTOMERS // 4
    journalled = {r.get("request_id") for r in journal.read_records(state)}
    writes = [e for e in history if e["origin"] == "api"]
    unaccounted = [e for e in writes if e["requestId"] not in journalled]
    assert unaccounted == [], f"{len(unaccounted)} writes not in any journal: {unaccounted[:2]}"


def test_killed_and_faulted_applies_converge_without_duplicates(
    tmp_path: Path, run_cli, sign_in_user
) -> None:
    world = worldgen.generate(CUSTOMERS, 1, seed=11, in_target_every=1)
    mdir = tmp_path / "manifests"
    worldgen.manifests(world, mdir)
    emu = Emulator.start(
        world=world, state_dir=tmp_path / "emu", rate_limit_per_minute=1_000_000, fault_seed=3
    )
    try:
        emu.control.set_fault(*FAULTS)
        state = tmp_path / "state"
        env = {
            **os.environ,
            "RECONCILER_CREDENTIALS_FILE": str(tmp_path / "none.toml"),
            "RECONCILER_TOKEN_CACHE_DIR": str(tmp_path / "tokens"),
            "RECONCILER_RATE_PER_MINUTE": "1000000",
            "RECONCILER_CUSTOMER_RATE_PER_MINUTE": "1000000",
            "RECONCILER_RETRY_BACKOFF_SECONDS": "0.02",
            # An order whose answer is lost is looked for this long, then left for the next
            # run (never re-sent in the same run); the emulator lists subscriptions at once.
            "RECONCILER_ORDER_LIST_LAG_SECONDS": "1",
        }
        sign_in_user(emu, environ=env)  # `reconciler login central`: agreements need App+User
        cmd = [
            sys.executable,
            "-m",
            "reconciler",
            "apply",
            str(mdir),
            "--auto-approve",
            "--connection",
            str(emu.connection_file),
            "--state-dir",
            str(state),
        ]
        rng = random.Random(5)
        log = tmp_path / "apply.log"
        for _ in range(4):
            _apply(cmd, env, log, kill_after=rng.randint(3, 60))
        codes = []
        for _ in range(10):
            codes.append(_apply(cmd, env, log, kill_after=None))
            if codes[-1] == 0:
                break
        assert codes[-1] == 0, f"exit codes {codes}; log tail: {log.read_text()[-3000:]}"
        emu.control.set_fault()
        final = run_cli(
            "plan", str(mdir), "--connection", str(emu.connection_file), "--detailed-exitcode"
        )
        assert final.code == 0, final.output[-3000:]
        _check_world(emu, mdir, state)
        records = journal.read_records(state)
        runs = len({r["run_id"] for r in records})
        cut = journal.unaccounted(records)
        print(
            f"chaos: {runs} journalled runs, {len(records)} events, exit codes {codes}, "
            f"{len(cut)} writes cut between sent and recorded "
            f"({sum(1 for r in cut if r['action'] == 'create')} creates)"
        )
    finally:
        emu.stop()
