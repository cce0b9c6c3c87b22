"""How fast and in how little memory hostile state files are refused (issue 11, point 8).

Runs the real entry point in this process on a plan file that never ends (a symlink to
/dev/zero), a 300 MB plan file (over the 256 MiB cap), a plan file of 100,000 nested arrays,
a journal with such a line and a credentials file of 100,000 nested arrays, and reports exit
code, wall time and
peak traced memory (tracemalloc, in a second run). Acceptance: every case exits 1 without a
traceback, in under 2 s, and peak memory stays within about twice the 256 MiB read cap however
large the input.

    .venv/bin/python bench/bench_hostile_state.py
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from reconciler import files
from reconciler.cli import main as cli

DEEP = "[" * 100_000 + "]" * 100_000


def run(argv: list[str], env: dict[str, str]) -> int:
    out = io.StringIO()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = cli.main(argv)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if "Traceback" in out.getvalue():
        raise SystemExit(f"traceback for {argv}:\n{out.getvalue()}")
    return code


def cases(base: Path) -> dict[str, Callable[[], tuple[list[str], dict[str, str]]]]:
    def plan_dev_zero() -> tuple[list[str], dict[str, str]]:
        link = base / "zero-plan.json"
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/zero")
        return ["show", str(link)], {}

    def plan_300mb() -> tuple[list[str], dict[str, str]]:
        path = base / "huge-plan.json"
        if not path.exists():
            with path.open("wb") as fh:
                fh.truncate(300 * 1024 * 1024)  # sparse: costs no disk
        return ["show", str(path)], {}

    def plan_deep() -> tuple[list[str], dict[str, str]]:
        path = base / "deep-plan.json"
        path.write_text(DEEP)
        return ["show", str(path)], {}

    def journal_deep() -> tuple[list[str], dict[str, str]]:
        state = base / "state"
        (state / "journal").mkdir(parents=True, exist_ok=True)
        (state / "journal" / "run-1.jsonl").write_text(DEEP + "\n{}\n")
        return ["journal", "export", "--state-dir", str(state)], {}

    def credentials_deep() -> tuple[list[str], dict[str, str]]:
        path = base / "credentials.toml"
        path.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
        path.chmod(0o600)
        return ["plan", "--credentials", str(path)], {}

    return {
        "plan file -> /dev/zero": plan_dev_zero,
        "plan file 300 MB": plan_300mb,
        "plan file 100,000 nested arrays": plan_deep,
        "journal line 100,000 nested arrays": journal_deep,
        "credentials file 100,000 nested arrays": credentials_deep,
    }


def main() -> None:
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        os.chdir(Path(__file__).resolve().parent.parent)  # manifests/ for `plan`
        for name, make in cases(base).items():
            argv, env = make()
            started = time.perf_counter()
            code = run(argv, env)
            took = time.perf_counter() - started
            tracemalloc.start()
            try:
                run(argv, env)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            mb = peak / 2**20
            print(f"{name:40} exit {code}  {took * 1000:6.0f} ms  peak traced {mb:6.1f} MB")
            if code != 1 or took > 2 or mb > 2.2 * files.MAX_PLAN_BYTES / 2**20:
                failures.append(name)
    if failures:
        raise SystemExit(f"not within bounds: {', '.join(failures)}")


if __name__ == "__main__":
    main()
