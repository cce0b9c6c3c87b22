"""Planning-core speed: CPU seconds for ``planner.build_plan`` over generated worlds, plus the
renderers on the result. Prints figures; asserts nothing (tests never time anything).

    .venv/bin/python bench/bench_plan.py                 # 5,000 customers x 10 = 50,000 subs
    .venv/bin/python bench/bench_plan.py --customers 500 --per-customer 4

The baseline is a small world (1/10 of the size) planned in the same process, so the ratio
shows how the core scales (linear = ~10x).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "planning"))

import big_world

from reconciler.planning import planfile, planner
from reconciler.rendering import jsondoc, markdown, text


def cpu(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--per-customer", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

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
    verdict = "OK" if took < 2.0 else "OVER"
    print(f"target: planning core under 2 s CPU for 50,000 subscriptions -> {verdict}")


if __name__ == "__main__":
    main()
