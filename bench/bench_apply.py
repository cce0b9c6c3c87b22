"""Benchmark: ``reconciler apply`` on a generated world against the emulator, with a real
provisioning delay and the emulator's per-tenant rate limit, compared with its lower bound.

    .venv/bin/python bench/bench_apply.py [--customers 100] [--delay 5] [--parallelism 16]

The run is the real command (a subprocess, ``--verbose``), so every request it sends is
counted per partner tenant from its request log. The lower bound is the larger of

- the rate bound: the busiest tenant's requests at the client's pace (480/min per tenant),
- the provisioning bound: one provisioning delay (every order can wait at once), plus the
  requests of one customer's critical path, which is negligible here.

Prints the wall time, requests and 429s per tenant, the bound and the ratio to it; checks the
emulator's history for duplicates (two live target subscriptions of one manifest key) and early
suspensions (a source stopped before its target was active). Runs in real time (about three
minutes at the defaults).

Measured (2 shared cores, the full test suite running alongside): 100 customers x 2
subscriptions, 5 s provisioning, --parallelism 16: 384 steps (184 creates, 133 suspensions),
1,198 requests to the target tenant, 0 answered 429; wall 167.5 s against a lower bound of
149.8 s (the rate bound): 1.12x; 0 duplicates, 0 early suspensions. The serial apply this
replaces needed about 30 minutes for the same world (issue 14).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from reconciler import settings
from reconciler.emulator import worldgen
from reconciler.emulator.server import Emulator
from reconciler.planning import markers

LINE = re.compile(r" -> (\d{3}|\w+) in [\d.]+s \(tenant (\w+),")


def check_history(emu: Emulator) -> tuple[int, int]:
    """(duplicate target keys, suspensions before their customer's target was active)."""
    snap, history = emu.control.snapshot(), emu.control.history()
    keys = Counter(
        (s["customerId"], markers.parse_marker(s.get("friendlyName") or ""))
        for s in snap["subscriptions"]
        if s["partner"] == "central" and s["status"] != "deleted"
    )
    duplicates = sum(1 for (_, key), n in keys.items() if key and n > 1)
    created = {
        e["subscriptionId"]: e["customerId"]
        for e in history
        if e["action"] == "subscription.create"
    }
    active: dict[str, str] = {}
    for e in history:
        if e["action"] == "subscription.provisioned" and e["subscriptionId"] in created:
            active.setdefault(created[e["subscriptionId"]], e["time"])
    early = 0
    for e in history:
        new = (e["changes"].get("status") or [None, None])[1]
        if e["origin"] == "api" and new in ("suspended", "deleted"):
            cid = e["customerId"]
            if cid in active and e["time"] < active[cid]:
                early += 1
    return duplicates, early


def sign_in_target(emu: Emulator, conn: str, env: dict[str, str], cache: Path) -> None:
    """``reconciler login central`` into ``cache`` (the emulator's user approves the device
    code): the customers' agreements are read, and recorded, with App+User only, so a plan that
    buys needs this sign-in (without it every purchase waits behind a confirm-agreement gate)."""
    from reconciler.operations import live, signin

    env["RECONCILER_TOKEN_CACHE_DIR"] = str(cache)
    access = live.Access(environ=env, connection=Path(conn))
    ids = {t["name"]: t["tenantId"] for t in json.loads(Path(conn).read_text("utf-8"))["tenants"]}

    def approve(message: str) -> None:
        code = re.search(r"code ([A-Z0-9-]+)", message)
        if code:
            emu.control.approve_device_code(code.group(1))

    signin.sign_in(signin.tenant("central", ids["central"], [], access), access, show=approve)


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    doc = worldgen.generate(args.customers, args.per_customer, seed=7, in_target_every=1)
    mdir = tmp / "manifests"
    worldgen.manifests(doc, mdir)
    emu = Emulator.start(
        world=doc,
        state_dir=tmp / "emu",
        rate_limit_per_minute=500,
        provisioning_delay_seconds=args.delay,
    )
    try:
        env = {
            **os.environ,
            "RECONCILER_CREDENTIALS_FILE": str(tmp / "none.toml"),
            "RECONCILER_TOKEN_CACHE_DIR": str(tmp / "tokens"),
            "RECONCILER_LOCK_DIR": str(tmp / "locks"),
        }
        sign_in_target(emu, str(emu.connection_file), env, tmp / "tokens")
        cmd = [
            sys.executable,
            "-m",
            "reconciler",
            "apply",
            str(mdir),
            "--auto-approve",
            "--verbose",
            "--connection",
            str(emu.connection_file),
            "--state-dir",
            str(tmp / "state"),
            "--parallelism",
            str(args.parallelism),
        ]
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(
                f"apply exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
            )
        per_tenant: Counter[str] = Counter()
        throttled: Counter[str] = Counter()
        for m in LINE.finditer(proc.stderr):
            per_tenant[m.group(2)] += 1
            throttled[m.group(2)] += m.group(1) == "429"
        steps = Counter(
            m.group(1) for m in re.finditer(r"\[(ok|FAILED|skipped|UNKNOWN)\] (\S+)", proc.stdout)
        )
        actions: defaultdict[str, int] = defaultdict(int)
        for m in re.finditer(r"\[ok\] (\S+)", proc.stdout):
            actions[m.group(1)] += 1
        duplicates, early = check_history(emu)
    finally:
        emu.stop()
    rate = settings.DEFAULT_TENANT_RATE_PER_MINUTE / 60.0
    rate_bound = max(per_tenant.values()) / rate
    bound = max(rate_bound, args.delay)
    return {
        "wall": wall,
        "requests": dict(per_tenant),
        "throttled": dict(throttled),
        "steps": dict(steps),
        "actions": dict(actions),
        "rate_bound": rate_bound,
        "bound": bound,
        "ratio": wall / bound,
        "duplicates": duplicates,
        "early": early,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--per-customer", type=int, default=2)
    parser.add_argument("--delay", type=float, default=5.0, help="provisioning delay, seconds")
    parser.add_argument("--parallelism", type=int, default=settings.DEFAULT_APPLY_PARALLELISM)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = run(args, Path(tmp))
    print(
        f"apply: {args.customers} customers x {args.per_customer} subscriptions, "
        f"{args.delay:g} s provisioning, --parallelism {args.parallelism}"
    )
    print(f"  steps: {r['steps']}  ({r['actions']})")
    for tenant, n in sorted(r["requests"].items()):
        print(f"  {tenant:8s} {n:5d} requests, {r['throttled'].get(tenant, 0)} answered 429")
    print(
        f"  wall {r['wall']:.1f} s; lower bound {r['bound']:.1f} s (rate bound "
        f"{r['rate_bound']:.1f} s at {settings.DEFAULT_TENANT_RATE_PER_MINUTE}/min per tenant, "
        f"provisioning bound {args.delay:g} s); ratio {r['ratio']:.2f}  [target <= 1.5]"
    )
    print(f"  duplicates {r['duplicates']}, early suspensions {r['early']}  [target 0, 0]")


if __name__ == "__main__":
    main()
