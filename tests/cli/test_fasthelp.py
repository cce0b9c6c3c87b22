"""The top-level help drawn without typer (cli/fasthelp.py) is the typer app's help: the same
commands, options and words, the same layout at every width it answers for, the same styles on
a terminal. A command added or re-worded in a command module without updating fasthelp fails
here with the line to write."""

from __future__ import annotations

import contextlib
import inspect
import io
import re

import pytest
import typer

from reconciler.cli import app, fasthelp, main

#: Environment variables that change how typer's rich console draws (the CI sets some).
DRAWING = (
    "COLUMNS",
    "TERMINAL_WIDTH",
    "FORCE_COLOR",
    "PY_COLORS",
    "GITHUB_ACTIONS",
    "NO_COLOR",
    "TTY_COMPATIBLE",
    "_TYPER_FORCE_DISABLE_TERMINAL",
    "TERM",
)
ANSI = re.compile(r"\x1b\[[\d;]*m")


@pytest.fixture
def plain_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in DRAWING:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def typer_help(monkeypatch: pytest.MonkeyPatch, width: int, **env: str) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main.main(["--help"]) == 0
    return out.getvalue()


def _group() -> tuple[typer.core.TyperGroup, typer.Context]:
    group = typer.main.get_command(app.app)
    assert isinstance(group, typer.core.TyperGroup)
    return group, typer.Context(group, help_option_names=app.HELP_OPTION_NAMES)


def test_the_copy_lists_exactly_the_commands_and_options_of_the_typer_app() -> None:
    group, ctx = _group()
    commands = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if not command.hidden:
            text = inspect.cleandoc(command.short_help or command.help or "")
            commands.append((name, text.split("\n\n")[0].strip()))
    options = []
    for param in [*group.get_params(ctx)]:
        if isinstance(param, typer.core.TyperOption) and not param.hidden:
            long = ",".join(o for o in param.opts if o.startswith("--"))
            short = ",".join(o for o in param.opts if not o.startswith("--"))
            options.append((long, short, param.help or ""))
    assert tuple(commands) == fasthelp.COMMANDS, (
        "cli/fasthelp.py's COMMANDS must be the typer app's commands; write:\n"
        + "\n".join(f"    {c!r}," for c in commands)
    )
    assert tuple(options) == fasthelp.OPTIONS
    assert group.help == fasthelp.DESCRIPTION


@pytest.mark.parametrize("width", [fasthelp.MIN_WIDTH, 61, 80, 97, 120, 200])
def test_off_a_terminal_the_text_is_typers_to_the_character(
    plain_env: pytest.MonkeyPatch, width: int
) -> None:
    assert fasthelp.render(width) == typer_help(plain_env, width)


def test_on_a_terminal_the_words_and_the_styles_are_typers(plain_env: pytest.MonkeyPatch) -> None:
    theirs = typer_help(plain_env, 100, FORCE_COLOR="1")
    ours = fasthelp.render(100, styled=True)
    assert ANSI.sub("", ours) == ANSI.sub("", theirs)
    for name, _ in fasthelp.COMMANDS:  # command names in bold cyan
        assert f"\x1b[1;36m{name}" in ours and f"\x1b[1;36m{name}" in theirs
    assert "\x1b[1;33mUsage: " in ours and "\x1b[1;33mUsage: " in theirs
    assert "\x1b[1;36m--version\x1b[0m" in ours and "\x1b[1;32m-h\x1b[0m" in ours
    assert "\x1b[2m╭─" in ours and "\x1b[2m╭─" in theirs  # dim panel borders


def test_no_color_keeps_bold_and_dim_and_drops_the_colours(plain_env: pytest.MonkeyPatch) -> None:
    theirs = typer_help(plain_env, 100, FORCE_COLOR="1", NO_COLOR="1")
    width, styled, color = fasthelp.terminal(
        io.StringIO(), {"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "100"}
    )
    ours = fasthelp.render(width, styled=styled, color=color)
    assert (styled, color) == (True, False)
    assert ANSI.sub("", ours) == ANSI.sub("", theirs)
    for text in (ours, theirs):
        codes = {c for m in ANSI.findall(text) for c in m[2:-1].split(";")}
        assert codes <= {"0", "1", "2"}, codes
        assert "\x1b[1m" in text


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "environ", "expected"),
    [
        (io.StringIO(), {"COLUMNS": "120"}, (120, False, False)),
        (_Tty(), {"COLUMNS": "90"}, (90, True, True)),
        (_Tty(), {"COLUMNS": "90", "NO_COLOR": "1"}, (90, True, False)),
        (_Tty(), {"COLUMNS": "90", "NO_COLOR": ""}, (90, True, True)),
        (_Tty(), {"TERM": "dumb"}, (80, False, False)),
        (io.StringIO(), {"GITHUB_ACTIONS": "true", "COLUMNS": "100"}, (100, True, True)),
        (io.StringIO(), {"TERMINAL_WIDTH": "70", "COLUMNS": "100"}, (70, False, False)),
        (_Tty(), {"TTY_COMPATIBLE": "0", "COLUMNS": "100"}, (100, False, False)),
    ],
)
def test_terminal_follows_typers_rules(
    stream: io.StringIO, environ: dict[str, str], expected: tuple[int, bool, bool]
) -> None:
    assert fasthelp.terminal(stream, environ) == expected


def test_a_narrow_terminal_is_left_to_typer() -> None:
    out = io.StringIO()
    assert fasthelp.write(out, {"COLUMNS": str(fasthelp.MIN_WIDTH - 1)}) is False
    assert out.getvalue() == ""
    assert fasthelp.write(out, {"COLUMNS": str(fasthelp.MIN_WIDTH)}) is True
    assert "╭─ Commands" in out.getvalue()


def test_a_stream_that_cannot_show_the_box_gets_ascii_borders() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="cp1252")
    assert fasthelp.write(out, {"COLUMNS": "80"})
    text = raw.getvalue().decode("cp1252")
    assert "+- Commands -" in text and "| validate" in text and "╭" not in text
