"""Planning-core speed: CPU seconds for ``planner.build_plan`` over generated worlds, plus the
renderers on the result, and the issue-14 figure (200,000 subscriptions: under 5 s CPU and
1 GB peak RSS) measured in a fresh process. Prints figures; asserts nothing (tests never time
anything).

    .venv/bin/python bench/bench_plan.py                 # 50,000 subs here, 200,000 fresh
    .venv/bin/python bench/bench_plan.py --customers 500 --per-customer 4 --core 0

Each size is compared with a baseline planned in the same process just before it: a world
1/10 of the size, so the ratio shows how the core scales (linear = ~10x) and stays comparable
between runs on a loaded machine, where absolute CPU seconds are inflated.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "planning"))

import big_world

from reconciler.planning import planfile, planner
from reconciler.rendering import jsondoc, markdown, text

#: Issue 14's acceptance for the core at 200,000 subscriptions.
CORE_CPU_S = 5.0
CORE_PEAK_MB = 1024


def cpu(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def peak_rss_mb() -> int:
    """This process's peak resident set size (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak / 2**20) if sys.platform == "darwin" else int(peak / 1024)


def fresh(customers: int, per_customer: int) -> dict[str, object]:
    """Run in a fresh interpreter: the 1/10 baseline, then the world itself, once each; the
    peak RSS is the whole process's (world, plan and interpreter)."""
    small = big_world.make(max(customers // 10, 1), per_customer)
    started = time.process_time()
    planner.build_plan(*small, now=big_world.NOW)
    base = time.process_time() - started
    del small
    state, live = big_world.make(customers, per_customer)
    started = time.process_time()
    plan = planner.build_plan(state, live, now=big_world.NOW)
    took = time.process_time() - started
    return {
        "subscriptions": customers * per_customer,
        "changes": len(plan.changes),
        "build_plan_cpu_s": round(took, 2),
        "baseline_cpu_s": round(base, 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def core_in_fresh_process(subscriptions: int, per_customer: int) -> dict[str, object]:
    customers = max(subscriptions // per_customer, 1)
    out = subprocess.run(
        [sys.executable, __file__, "--fresh", str(customers), "--per-customer", str(per_customer)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--per-customer", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--core",
        type=int,
        default=200_000,
        help="subscriptions planned in a fresh process for the issue-14 figure (0: skip)",
    )
    parser.add_argument("--fresh", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fresh is not None:
        print(json.dumps(fresh(args.fresh, args.per_customer)))
        return
    in_process(args)
    if args.core:
        core_figure(args.core, args.per_customer)


def in_process(args: argparse.Namespace) -> None:
    """build_plan at ``--customers`` in this process (best of ``--repeat``), then renderers."""
    small_state, small_live = big_world.make(max(args.customers // 10, 1), args.per_customer)
    state, live = big_world.make(args.customers, args.per_customer)
    subs = sum(len(c.subscriptions) for v in live.tenants.values() for c in v.customers.values())

    def plan_small():
        return planner.build_plan(small_state, small_live, now=big_world.NOW)

    def plan_big():
        return planner.build_plan(state, live, now=big_world.NOW)

    base, _ = cpu(plan_small, args.repeat)
    took, plan = cpu(plan_big, args.repeat)
    print(
        f"world: {args.customers} customers, {subs} live subscriptions, {len(plan.changes)} changes"
    )
    print(
        f"build_plan: {took:.3f} s CPU (best of {args.repeat}); baseline 1/10 world "
        f"{base:.3f} s; ratio {took / base:.1f}x"
    )
    doc = json.loads(jsondoc.render(plan))
    for name, fn in (
        ("planfile.to_dict", lambda: planfile.to_dict(plan)),
        ("planfile.from_dict", lambda: planfile.from_dict(doc)),
        ("render json", lambda: jsondoc.render(plan)),
        ("render text", lambda: text.render(plan)),
        ("render markdown", lambda: markdown.render(plan)),
    ):
        t, out = cpu(fn, 1)
        size = f", {len(out):,} chars" if isinstance(out, str) else ""
        print(f"{name}: {t:.3f} s CPU{size}")


def core_figure(subscriptions: int, per_customer: int) -> None:
    """The issue-14 figure: build_plan at ``subscriptions`` in a fresh process."""
    core = core_in_fresh_process(subscriptions, per_customer)
    ratio = core["build_plan_cpu_s"] / max(core["baseline_cpu_s"], 1e-9)
    print(
        f"core at {core['subscriptions']:,} subscriptions (fresh process): build_plan "
        f"{core['build_plan_cpu_s']} s CPU, peak RSS {core['peak_rss_mb']} MB, "
        f"{core['changes']:,} changes; baseline 1/10 world {core['baseline_cpu_s']} s in the "
        f"same process; ratio {ratio:.1f}x; load average {os.getloadavg()[0]:.1f}"
    )
    ok = core["build_plan_cpu_s"] < CORE_CPU_S and core["peak_rss_mb"] < CORE_PEAK_MB
    print(
        f"target: under {CORE_CPU_S:g} s CPU and {CORE_PEAK_MB} MB peak RSS at "
        f"{core['subscriptions']:,} subscriptions -> {'OK' if ok else 'OVER'}"
    )


if __name__ == "__main__":
    main()
