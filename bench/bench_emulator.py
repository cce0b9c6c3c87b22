"""Emulator benchmarks: how long a large generated world takes to load, and how many simple
authenticated GETs per second the emulator serves over HTTPS with keep-alive.

Run: .venv/bin/python bench/bench_emulator.py [--customers 5000] [--per-customer 10]
Prints figures; asserts nothing (targets: load < 10 s, >= 1,000 GET/s on the CI machine).
The ratio line compares API GETs with the unauthenticated control health check in the same
process, so machine speed cancels out.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import msal
import requests

from reconciler.emulator import worldgen
from reconciler.emulator.server import Emulator

SCOPE = ["https://api.partnercenter.microsoft.com/.default"]


def _session(emu: Emulator) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emu.ca_bundle)
    return session


def _token(emu: Emulator, name: str) -> str:
    conn = json.loads(emu.connection_file.read_text())
    tenant = next(t for t in conn["tenants"] if t["name"] == name)
    app = msal.ConfidentialClientApplication(
        tenant["clientId"],
        client_credential=tenant["clientSecret"],
        authority=f"{conn['authorityHost']}/{tenant['tenantId']}",
        instance_discovery=False,
        http_client=_session(emu),
    )
    return str(app.acquire_token_for_client(scopes=SCOPE)["access_token"])


def _rate(emu: Emulator, urls: list[str], headers: dict[str, str], threads: int) -> float:
    """Requests per second with ``threads`` keep-alive clients sharing ``urls``."""
    chunks = [urls[i::threads] for i in range(threads)]
    errors: list[int] = []

    def worker(chunk: list[str]) -> None:
        session = _session(emu)
        for url in chunk:
            status = session.get(url, headers=headers).status_code
            if status != 200:
                errors.append(status)

    workers = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit(f"unexpected statuses: {sorted(set(errors))}")
    return len(urls) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--per-customer", type=int, default=10)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    doc = worldgen.generate(args.customers, args.per_customer, seed=1)
    gen = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "world.json"
        path.write_text(json.dumps(doc))
        t0 = time.perf_counter()
        emu = Emulator.start(path, state_dir=Path(tmp) / "state", rate_limit_per_minute=0)
        load = time.perf_counter() - t0
        try:
            subs = args.customers * args.per_customer
            print(
                f"world: {args.customers} customers, {subs} subscriptions "
                f"(generated in {gen:.2f} s)"
            )
            print(f"load + start (JSON seed file -> serving): {load:.2f} s  [target < 10 s]")
            headers = {"Authorization": f"Bearer {_token(emu, 'de')}"}
            ids = [worldgen.customer_id(i) for i in range(0, args.customers, 2)]  # de's
            n = args.requests
            by_id = [f"{emu.url}/v1/customers/{ids[i % len(ids)]}" for i in range(n)]
            subs_urls = [
                f"{emu.url}/v1/customers/{ids[i % len(ids)]}/subscriptions" for i in range(n)
            ]
            health = [f"{emu.url}/_emulator/health"] * n
            base = _rate(emu, health, {}, 1)
            print(f"control health check, 1 client:        {base:8.0f} req/s (baseline)")
            for label, urls in (
                ("GET customer by id", by_id),
                ("GET subscriptions list", subs_urls),
            ):
                for threads in (1, 4):
                    rate = _rate(emu, urls, headers, threads)
                    print(
                        f"{label + f', {threads} client(s):':39s} {rate:8.0f} req/s "
                        f"(x{rate / base:.2f} of baseline)  [target >= 1000]"
                    )
        finally:
            emu.stop()


if __name__ == "__main__":
    main()
