#!/usr/bin/env python3
"""Set up the project and run its main jobs, with nothing but Python 3.11+ and pip.

    python3 scripts/dev.py demo    # venv + install, then the demo against the bundled emulator
    python3 scripts/dev.py test    # venv + dev tools, then lint, types, contracts, tests

The virtual environment lives in .venv (override with RECONCILER_VENV). It is (re)installed
only when pyproject.toml changed since the last install. Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("RECONCILER_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def tool(name: str) -> str:
    """The path of a program in the venv (``python.exe``, ``ruff.exe``, ... on Windows)."""
    return str(BIN / (f"{name}.exe" if os.name == "nt" else name))


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs on any python3
        sys.exit(f"reconciler needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not Path(tool("python")).exists():
        say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".reconciler-installed-{extras or 'base'}-{digest}"
    if stamp.exists():
        return
    target = f".[{extras}]" if extras else "."
    say(f"installing reconciler{f'[{extras}]' if extras else ''} and its dependencies")
    cmd = [
        tool("python"),
        "-m",
        "pip",
        "install",
        "-qq",
        "--disable-pip-version-check",
        "-e",
        target,
    ]
    if subprocess.call(cmd, cwd=ROOT) != 0:
        sys.exit("pip install failed; see the messages above (network to the package index?).")
    for old in VENV.glob(f".reconciler-installed-{extras or 'base'}-*"):
        old.unlink()
    stamp.touch()


def run_checks() -> int:
    steps: list[tuple[str, list[str]]] = [
        ("ruff (lint)", [tool("ruff"), "check", "."]),
        ("ruff (format)", [tool("ruff"), "format", "--check", "."]),
        ("mypy (strict on reconciler/)", [tool("mypy")]),
        ("import contracts", [tool("lint-imports")]),
        ("tests", [tool("python"), "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider"]),
    ]
    failed: list[str] = []
    for name, cmd in steps:
        say(name)
        started = time.monotonic()
        code = subprocess.call(cmd, cwd=ROOT)
        took = time.monotonic() - started
        if name == "tests" and code == 5:
            print("pytest collected no tests: that is a failure, not a pass.", flush=True)
        if code != 0:
            failed.append(f"{name} (exit {code})")
        say(f"{name}: {'ok' if code == 0 else 'FAILED'} in {took:.1f}s")
    if failed:
        say("FAILED: " + ", ".join(failed))
        return 1
    say("all checks passed")
    return 0


def run_demo(args: list[str]) -> int:
    return subprocess.call([tool("reconciler"), "demo", *args], cwd=ROOT)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "setup"):
        print(__doc__)
        return 1
    job, rest = argv[0], argv[1:]
    ensure_venv("" if job == "demo" else "dev")
    if job == "test":
        return run_checks()
    if job == "demo":
        return run_demo(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
