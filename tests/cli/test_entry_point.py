"""The command line's contract: help, version, usage errors, crash reports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler import __version__
from reconciler.cli import main as cli_main


def test_version(run_cli) -> None:
    result = run_cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"reconciler {__version__}"


def test_help_lists_commands(run_cli) -> None:
    result = run_cli("--help")
    assert result.code == 0
    assert "validate" in result.out
    assert "Usage: reconciler" in result.out


def test_no_arguments_shows_help(run_cli) -> None:
    result = run_cli()
    assert result.code == 0
    assert "Usage: reconciler" in result.out


def test_validate_help_describes_every_option(run_cli) -> None:
    result = run_cli("validate", "--help")
    assert result.code == 0
    for option in ("--format", "--help"):
        assert option in result.out
    assert "file:line:col" in result.out


@pytest.mark.parametrize("argv", [["--bogus"], ["validate", "--nope"], ["no-such-command"]])
def test_usage_errors_exit_1_with_a_one_line_hint(run_cli, argv: list[str]) -> None:
    result = run_cli(*argv)
    assert result.code == 1  # never click's 2, which means "changes pending" here
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert re.search(r"Try 'reconciler( validate)? --help'\.$", lines[0])


def test_an_unexpected_exception_is_one_line_and_a_report(
    run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler import manifests

    def explode(paths: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(manifests, "check", explode)
    result = run_cli("validate")
    assert result.code == 1
    assert "Traceback" not in result.output
    line = result.err.strip()
    assert "\n" not in line
    report = Path(re.search(r"written to (\S+);", line).group(1))  # type: ignore[union-attr]
    assert "RuntimeError: boom" in report.read_text()
    report.unlink()


def test_console_script_entry_point_is_declared() -> None:
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'reconciler = "reconciler.cli.main:run"' in text
    assert callable(cli_main.run)


def test_an_ansi_code_page_stream_is_switched_to_utf8() -> None:
    """Windows CI logs are redirected streams in cp1252, which cannot encode '→'."""
    import io

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="cp1252")
    cli_main.printable(stream)
    stream.write("quantity 25 → 30")
    stream.flush()
    assert raw.getvalue().decode("utf-8") == "quantity 25 → 30"


def test_the_console_script_prints_arrows_into_a_cp1252_pipe() -> None:
    import os
    import subprocess
    import sys

    program = (
        "from reconciler.cli import main\n"
        "main.main = lambda: print('subscription …d001 quantity 25 → 30') or 0\n"
        "main.run()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        env={**os.environ, "PYTHONIOENCODING": "cp1252"},
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert done.stdout.decode("utf-8").strip() == "subscription …d001 quantity 25 → 30"
