"""Benchmark: a large live-state read against the emulator with a low rate limit.

Prints, per partner tenant, the requests sent, the achieved request rate against the
emulator's limit, and the 429s met; first with client-side pacing at the configured rate
(what users get), then, as a baseline in the same process, with pacing effectively off.

    .venv/bin/python bench/bench_read.py [--limit 90] [--customers 200] [--no-baseline]

The pacing claim being measured: zero (or near-zero) 429s and a request rate within 10 % of
the limit. Runs in real time (about a minute per run at the defaults).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from reconciler import model
from reconciler.emulator.server import Emulator
from reconciler.partner_center import config, connect, reading

PARTNERS = {
    "central": "0f6a1b8e-0000-4000-8000-000000000001",
    "de": "0f6a1b8e-0000-4000-8000-0000000000de",
    "fr": "0f6a1b8e-0000-4000-8000-0000000000f2",
}
OFFERS = ("796B6B5F-613C-4E24-A17C-EBA730D49C02", "CFQ7TTC0LH18:0001:CFQ7TTC0K971", "MS-AZR-0145P")


def world(customers: int) -> dict[str, Any]:
    partners = [
        {
            "name": n,
            "tenantId": t,
            "country": "DE",
            "apps": [
                {
                    "clientId": f"00000000-0000-4000-8000-0000000a000{i}",
                    "clientSecret": f"bench-secret-{n}",
                }
            ],
        }
        for i, (n, t) in enumerate(PARTNERS.items())
    ]
    docs = []
    for i in range(customers):
        source = "de" if i % 2 == 0 else "fr"
        rel = [source, "central"] if i % 2 == 0 or i % 3 == 0 else [source]
        docs.append(
            {
                "tenantId": f"3f2c6d55-0000-4000-8000-{i:012d}",
                "companyName": f"Customer {i}",
                "relationships": rel,
                "subscriptions": [
                    {"partner": source, "offerId": OFFERS[j % 3], "quantity": 5} for j in range(3)
                ],
            }
        )
    return {"format": "reconciler-emulator-world/1", "partners": partners, "customers": docs}


def consolidation() -> model.Consolidation:
    target = model.Tenant("central", PARTNERS["central"], "IE", model.Role.TARGET)
    sources = tuple(model.Tenant(n, PARTNERS[n], "DE", model.Role.SOURCE) for n in ("de", "fr"))
    return model.Consolidation("bench", target, sources, model.Policy(), model.Origin("bench", 1))


def run(emu: Emulator, rate: float, label: str, limit: int) -> dict[str, float]:
    emu.control.set_limits(rate_limit_per_minute=limit)  # also refills the emulator's buckets
    time.sleep(0.1)
    cons = consolidation()
    env = {
        "RECONCILER_CREDENTIALS_FILE": "/nonexistent/credentials.toml",
        "RECONCILER_RATE_PER_MINUTE": str(rate),
        "RECONCILER_CONCURRENCY": "8",
    }
    conn = config.resolve(cons.tenants, environ=env, connection_path=emu.connection_file)
    clients = connect.build_clients(cons.tenants, conn)
    for c in clients.values():  # authenticate first: token requests are not API budget
        c.transport.tokens.token()
    started = time.monotonic()
    state = reading.read_live_state(cons, clients, customers=None)
    wall = time.monotonic() - started
    subs = sum(len(cv.subscriptions) for v in state.tenants.values() for cv in v.customers.values())
    print(f"\n== {label}: client pacing {rate:.0f}/min, emulator limit {limit}/min per tenant")
    print(
        f"   read {sum(len(v.customers) for v in state.tenants.values())} customer views, "
        f"{subs} subscriptions in {wall:.1f}s"
    )
    worst = {"max_429": 0.0, "min_ratio": 9e9, "max_ratio": 0.0}
    for name, c in clients.items():
        s = c.stats
        per_min = s.rate_per_minute()
        ratio = per_min / limit
        print(
            f"   {name:8s} {s.requests:5d} requests  {per_min:7.1f}/min  "
            f"= {ratio:5.1%} of limit  429s: {s.throttled:3d}  "
            f"throttle wait {s.throttle_wait:5.1f}s  paced (sum over workers) {s.pacing_wait:6.1f}s"
        )
        worst["max_429"] = max(worst["max_429"], s.throttled)
        if s.requests > 2 * limit / 60:  # ignore tenants too small to measure a rate on
            worst["min_ratio"] = min(worst["min_ratio"], ratio)
            worst["max_ratio"] = max(worst["max_ratio"], ratio)
    print(f"   summary: {connect.total_summary(clients.values())}")
    worst["wall"] = wall
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=90, help="emulator limit per tenant per minute")
    ap.add_argument("--customers", type=int, default=200)
    ap.add_argument(
        "--headroom", type=float, default=0.97, help="client pace as a fraction of the limit"
    )
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="bench-read-"))
    with Emulator.start(
        world=world(args.customers),
        port=0,
        state_dir=state_dir,
        page_size=100,
        rate_limit_per_minute=args.limit,
        clock_start=dt.datetime.now(dt.UTC),
    ) as emu:
        paced = run(emu, args.limit * args.headroom, "paced", args.limit)
        verdict = (
            "OK"
            if paced["max_429"] <= 2 and paced["min_ratio"] >= 0.9 and paced["max_ratio"] <= 1.1
            else "OUT OF BOUNDS"
        )
        print(
            f"\n   paced: max 429s per tenant {paced['max_429']:.0f}; rate "
            f"{paced['min_ratio']:.1%}..{paced['max_ratio']:.1%} of the limit -> {verdict}"
        )
        if not args.no_baseline:
            base = run(emu, args.limit * 100, "baseline (pacing off)", args.limit)
            print(
                f"\n   baseline: max 429s per tenant {base['max_429']:.0f}; wall "
                f"{base['wall']:.1f}s vs paced {paced['wall']:.1f}s "
                f"(ratio {base['wall'] / paced['wall']:.2f})"
            )


if __name__ == "__main__":
    main()
