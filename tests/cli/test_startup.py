"""Start-up stays light: ``--version`` and the top-level ``--help`` load neither typer nor any
dependency, and a command's ``--help`` loads no Partner Center, manifest, planning or YAML code
(issue 14: both under 0.15 s).
Checked through ``sys.modules`` in a fresh interpreter, never by timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from reconciler import __version__
from reconciler.cli import fasthelp

#: Runs the console script's ``run()`` as ``reconciler ARGS`` would, then prints the modules.
PROBE = (
    "import json, sys\n"
    "sys.argv = ['reconciler', *json.loads(sys.argv[1])]\n"
    "from reconciler.cli import main\n"
    "try:\n"
    "    main.run()\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
)
HEAVY = ("requests", "msal", "yaml", "jsonschema", "deepdiff", "cryptography", "ssl")


def _run(*argv: str, columns: int = 100) -> tuple[str, int, set[str]]:
    # A fixed width: the help's width otherwise follows whatever terminal runs the tests.
    env = {**os.environ, "COLUMNS": str(columns)}
    for name in ("TERMINAL_WIDTH", "FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "TTY_COMPATIBLE"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    *output, report = done.stdout.splitlines()
    found = json.loads(report)
    return "\n".join(output), found["code"], set(found["modules"])


def test_version_loads_no_dependency_and_prints_the_version() -> None:
    output, code, modules = _run("--version")
    assert (output, code) == (f"reconciler {__version__}", 0)
    loaded = {m.split(".")[0] for m in modules}
    assert not loaded & {*HEAVY, "typer", "click", "rich"}
    ours = {m for m in modules if m.split(".")[0] == "reconciler"}
    assert ours <= {"reconciler", "reconciler.cli", "reconciler.cli.main", "reconciler.exitcodes"}


@pytest.mark.parametrize("argv", [["--help"], ["plan", "--help"], ["--version", "plan"]])
def test_help_loads_no_command_code(argv: list[str]) -> None:
    output, code, modules = _run(*argv)
    assert code == 0 and ("Usage: reconciler" in output or output == f"reconciler {__version__}")
    assert not {m.split(".")[0] for m in modules} & set(HEAVY)
    layers = {"operations", "partner_center", "manifests", "planning", "applying", "emulator"}
    assert not [m for m in modules if m.startswith("reconciler.") and m.split(".")[1] in layers]


@pytest.mark.parametrize("argv", [["--help"], ["-h"], []])
def test_top_level_help_loads_neither_typer_nor_rich(argv: list[str]) -> None:
    output, code, modules = _run(*argv)
    assert (output, code) == (fasthelp.render(100)[: -len("\n")], 0)
    assert "╭─ Commands" in output and "│ plan " in output
    assert not {m.split(".")[0] for m in modules} & {*HEAVY, "typer", "click", "rich"}
    ours = {m for m in modules if m.split(".")[0] == "reconciler"}
    assert ours <= {"reconciler", "reconciler.cli", "reconciler.cli.main", "reconciler.cli.fasthelp",
                    "reconciler.exitcodes"}  # fmt: skip


def test_a_terminal_too_narrow_for_the_copy_gets_typers_help() -> None:
    output, code, modules = _run("--help", columns=fasthelp.MIN_WIDTH - 10)
    assert code == 0 and "Usage: reconciler" in output and "Commands" in output
    assert "typer" in modules
