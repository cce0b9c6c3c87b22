"""The saved plan document (``plan --out``): its size, plain and gzip-compressed, and the CPU
time and peak memory of writing it (``planfiles.write_plan``) and of reading it back
(``planfiles.read_plan``: show, apply, check-plan, comment, followup), on the generated world
of ``bench/bench_plan.py`` (customers of 10 subscriptions each, in every phase). Reading runs
in a fresh process, so its peak RSS is its own. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_plandoc.py                     # 1,000 and 5,000 customers
    .venv/bin/python bench/bench_plandoc.py --customers 10000   # the documented maximum

Plans above the read cap are read anyway (the cap is lifted in the reading process) and
marked "over the cap", so a format's cost can be compared at any size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "tests" / "unit" / "planning"))


def _rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def write(customers: int, per_customer: int, out: Path) -> dict[str, object]:
    import big_world

    from reconciler.operations import planfiles
    from reconciler.planning import planner

    state, live = big_world.make(customers, per_customer)
    plan = planner.build_plan(state, live, now=big_world.NOW)
    before = _rss_mb()
    started = time.process_time()
    planfiles.write_plan(plan, out)
    took = time.process_time() - started
    after = _rss_mb()
    gz = out.with_name(out.name + ".gz")
    started = time.process_time()
    planfiles.write_plan(plan, gz)
    took_gz = time.process_time() - started
    return {
        "changes": len(plan.changes),
        "bytes": out.stat().st_size,
        "gzip_bytes": gz.stat().st_size,
        "write_cpu_s": round(took, 2),
        "write_gz_cpu_s": round(took_gz, 2),
        "write_peak_rss_mb_added": after - before,
    }


def read(path: Path) -> dict[str, object]:
    from reconciler import files
    from reconciler.operations import planfiles

    over = path.stat().st_size > files.MAX_PLAN_BYTES
    files.MAX_PLAN_BYTES = 2**31  # measure the reading itself, whatever the cap
    files.MAX_PLAN_VALUES = 2**40
    started = time.process_time()
    plan = planfiles.read_plan(path)
    took = time.process_time() - started
    return {
        "read_cpu_s": round(took, 2),
        "read_peak_rss_mb": _rss_mb(),
        "read_changes": len(plan.changes),
        "over_cap": over,
    }


def _fresh(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(HERE), *args], check=True, capture_output=True, text=True
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--per-customer", type=int, default=10)
    parser.add_argument("--phase", choices=["write", "read"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "write":
        print(json.dumps(write(args.customers[0], args.per_customer, args.path)))
        return
    if args.phase == "read":
        print(json.dumps(read(args.path)))
        return
    from reconciler import files
    from reconciler.planning import actions

    print(
        f"plan format version {actions.FORMAT_VERSION}; read cap "
        f"{files.MAX_PLAN_BYTES / 2**20:g} MiB ({getattr(files, 'MAX_PLAN_SCALE', 'no documented maximum')})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for customers in args.customers:
            path = Path(tmp) / f"plan-{customers}.json"
            size = ["--customers", str(customers), "--per-customer", str(args.per_customer)]
            w = _fresh("--phase", "write", "--path", str(path), *size)
            r = _fresh("--phase", "read", "--path", str(path))
            g = _fresh("--phase", "read", "--path", str(path) + ".gz")
            print(
                f"{customers:,} customers / {customers * args.per_customer:,} subscriptions "
                f"({w['changes']:,} changes): {w['bytes']:,} bytes "
                f"({int(w['bytes']) / 2**20:.1f} MiB{', over the cap' if r['over_cap'] else ''}), "
                f"gzip {w['gzip_bytes']:,} bytes; write {w['write_cpu_s']} s CPU "
                f"(gzip {w['write_gz_cpu_s']} s), +{w['write_peak_rss_mb_added']} MB peak RSS; "
                f"read {r['read_cpu_s']} s CPU, {r['read_peak_rss_mb']} MB peak RSS "
                f"(from gzip: {g['read_cpu_s']} s, {g['read_peak_rss_mb']} MB)"
            )


if __name__ == "__main__":
    main()
