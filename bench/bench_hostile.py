"""How fast and in how little memory hostile manifests are refused.

Runs `reconciler validate` (the real entry point, output discarded) on each file of
tests/data/hostile and on generated hostile trees (issue 11: 12,000 aliases of a 900 KB string,
a FIFO and a /dev/zero symlink named *.yaml, symlinked customers/ directories, a file over the
size cap, merges of merges), all in this one process, and reports wall time and peak traced
memory (tracemalloc, in a second pass so it does not slow the timing), each as a ratio against
validating the example manifests the same way. Acceptance: every case exits 1 (or 0 where
following is right); the alias bombs stay under 100 MB, and the wide one is refused within
twice the time of parsing a file of the same size without aliases (that parse, PyYAML's pure
Python scanner, is the cost left: about 2 s per MB).

    .venv/bin/python bench/bench_hostile.py
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from reconciler.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "hostile"
EXAMPLES = ROOT / "manifests"


def validate(path: Path) -> int:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli.main(["validate", str(path)])
    if "Traceback" in out.getvalue():
        raise SystemExit(f"traceback while validating {path}:\n{out.getvalue()}")
    return code


def measure(path: Path, runs: int = 3) -> tuple[int, float, float]:
    """Exit code, best wall time (s) and peak traced memory (MB) of validating ``path``."""
    best = float("inf")
    code = 0
    for _ in range(runs):
        started = time.perf_counter()
        code = validate(path)
        best = min(best, time.perf_counter() - started)
    tracemalloc.start()
    try:
        validate(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return code, best, peak / 2**20


def _tree(base: Path, name: str) -> Path:
    copy = base / name
    shutil.copytree(EXAMPLES, copy)
    return copy


def generated(base: Path) -> dict[str, Callable[[], Path]]:
    """Hostile inputs that cannot live in the repository (special files, 1 MB bombs)."""

    def wide_alias_bomb() -> Path:
        path = base / "wide_alias_bomb.yaml"
        refs = ", ".join(["*a"] * 12_000)
        path.write_text(
            "apiVersion: reconciler/v1\nkind: Offers\noffers:\n  x:\n"
            f"    name: &a {'A' * 900_000}\n    offerId: CFQ7TTC0LH18:0001:CFQ7TTC0K971\n"
            f"    replaces: [{refs}]\n"
        )
        return path

    def wide_string_plain() -> Path:  # the same size without aliases: what parsing costs
        path = base / "wide_string_plain.yaml"
        items = ", ".join(["ab"] * 12_000)
        path.write_text(
            "apiVersion: reconciler/v1\nkind: Offers\noffers:\n  x:\n"
            f"    name: {'A' * 900_000}\n    offerId: CFQ7TTC0LH18:0001:CFQ7TTC0K971\n"
            f"    replaces: [{items}]\n"
        )
        return path

    def merge_fanout() -> Path:
        lines = ["apiVersion: reconciler/v1", "kind: Offers", "l0: &l0 {k0: v}"]
        for level in range(1, 40):
            refs = ", ".join([f"*l{level - 1}"] * 10)
            lines.append(f"l{level}: &l{level} {{<<: [{refs}], k{level}: v}}")
        path = base / "merge_fanout.yaml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def fifo_in_tree() -> Path:
        tree = _tree(base, "fifo-tree")
        os.mkfifo(tree / "customers" / "pipe.yaml")
        return tree

    def dev_zero_link() -> Path:
        tree = _tree(base, "zero-tree")
        (tree / "zero.yaml").symlink_to("/dev/zero")
        return tree

    def outside_customers_link() -> Path:
        tree = _tree(base, "outside-tree")
        (tree / "customers").rename(base / "outside-customers")
        (tree / "customers").symlink_to(base / "outside-customers")
        return tree

    def inside_customers_link() -> Path:  # followed: exit 0, same work as the examples
        tree = _tree(base, "inside-tree")
        (tree / "customers").rename(tree / "all-customers")
        (tree / "customers").symlink_to("all-customers")
        return tree

    def oversized() -> Path:
        path = base / "oversized.yaml"
        path.write_text("apiVersion: reconciler/v1\nkind: Customer\n" + "# pad\n" * 400_000)
        return path

    return {
        "wide_string_plain.yaml (generated)": wide_string_plain,
        "wide_alias_bomb.yaml (generated)": wide_alias_bomb,
        "merge_fanout.yaml (generated)": merge_fanout,
        "fifo in customers/ (generated)": fifo_in_tree,
        "zero.yaml -> /dev/zero (generated)": dev_zero_link,
        "customers -> outside (generated)": outside_customers_link,
        "customers -> inside (generated)": inside_customers_link,
        "oversized.yaml 2.4 MB (generated)": oversized,
    }


def main() -> None:
    started = time.perf_counter()
    validate(EXAMPLES)  # warm up: imports, schema compilation
    base_code, base_time, base_mem = measure(EXAMPLES, runs=5)
    print(
        f"baseline: validate manifests/ -> exit {base_code}, {base_time * 1000:.0f} ms, "
        f"peak traced memory {base_mem:.1f} MB (same process)"
    )
    cases: list[tuple[str, Callable[[], Path]]] = [
        (p.name, lambda p=p: p) for p in sorted(CORPUS.iterdir())
    ]
    failures = []
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cases += list(generated(Path(tmp)).items())
        for name, make in cases:
            code, took, mem = measure(make(), runs=1 if "wide" in name else 3)
            times[name] = took
            print(
                f"{name:36} exit {code}  {took * 1000:6.0f} ms (x{took / base_time:5.1f})  "
                f"peak {mem:6.1f} MB (x{mem / base_mem:5.1f})"
            )
            expected = 0 if "-> inside" in name else 1
            if code != expected or ("bomb" in name and mem > 100):
                failures.append(name)
    wide = times["wide_alias_bomb.yaml (generated)"]
    plain = times["wide_string_plain.yaml (generated)"]
    print(f"wide alias bomb vs the same size without aliases: x{wide / plain:.2f}")
    if wide > 2 * plain:
        failures.append("wide_alias_bomb.yaml (slower than parsing)")
    print(f"total {time.perf_counter() - started:.1f} s")
    if failures:
        raise SystemExit(f"not refused as required: {', '.join(failures)}")


if __name__ == "__main__":
    sys.exit(main())
