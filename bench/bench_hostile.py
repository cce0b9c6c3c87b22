"""How fast and in how little memory hostile manifests are refused.

Runs `reconciler validate` on each file of tests/data/hostile in a fresh process and reports
wall time and peak RSS, against `reconciler validate` of the (valid) example manifests in the
same way as the baseline. Acceptance: the billion-laughs file is refused in under a second and
under 100 MB.

    .venv/bin/python bench/bench_hostile.py
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "hostile"
PROBE = (
    "import resource, sys, time\n"
    "from reconciler.cli import main\n"
    "t = time.perf_counter(); code = main.main(['validate', sys.argv[1]])\n"
    "took = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "print(f'{code} {took:.4f} {rss}', file=sys.stderr)\n"
)


def measure(path: Path) -> tuple[int, float, float]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=False
    )
    code, took, rss_kb = done.stderr.strip().splitlines()[-1].split()
    return int(code), float(took), int(rss_kb) / 1024


def main() -> None:
    started = time.perf_counter()
    base_code, base_time, base_rss = measure(ROOT / "manifests")
    print(
        f"baseline: validate manifests/ -> exit {base_code}, {base_time * 1000:.0f} ms, "
        f"peak RSS {base_rss:.0f} MB"
    )
    for path in sorted(CORPUS.iterdir()):
        code, took, rss = measure(path)
        print(
            f"{path.name:34} exit {code}  {took * 1000:6.0f} ms (x{took / base_time:4.1f})  "
            f"peak RSS {rss:5.0f} MB (x{rss / base_rss:3.1f})"
        )
    print(f"total {time.perf_counter() - started:.1f} s")
    _ = resource  # the probe process measures itself


if __name__ == "__main__":
    main()
