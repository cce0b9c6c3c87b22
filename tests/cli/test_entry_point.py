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
        "import sys\n"
        "from reconciler.cli import main\n"
        "sys.argv = ['reconciler', 'validate']  # no arguments would print the help\n"
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


@pytest.mark.parametrize("command", ["plan", "apply", "validate", "export", "demo"])
def test_option_help_names_values_in_words_not_python_types(run_cli, command: str) -> None:
    result = run_cli(command, "--help")
    assert result.code == 0
    assert not re.search(r"<(bool|str|int|float|path|list\[\w+\])>", result.out), result.out
    assert "PATH" in result.out


def test_plan_help_shows_repeatable_text_and_bare_flags(run_cli) -> None:
    out = " ".join(run_cli("plan", "--help").out.split())
    assert "--customer TEXT" in out
    assert "--out PATH" in out
    assert re.search(r"--detailed-exitcode Exit 0 when nothing to do", out)


def test_shell_completion_is_offered_and_completes_commands(
    run_cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "--install-completion" in run_cli("--help").out
    monkeypatch.setenv("_RECONCILER_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "reconciler pl")
    monkeypatch.setenv("COMP_CWORD", "1")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        cli_main.main([])
    assert exited.value.code == 0
    assert capsys.readouterr().out.split() == ["plan"]
